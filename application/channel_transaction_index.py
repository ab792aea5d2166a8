"""Every chain transaction recorded for each channel, final ones included: the history the
Channel no longer keeps in its state (it keeps only the pending ones; issue 14).

Three questions need the history: is a hash recorded already (recording it again, or
confirming it twice, changes nothing), which succeeded transaction did a purpose such as
`deposit:500` (a retry after a crash between the receipt and the deposit's fact must find it and
not send another), and what was sent (tests, operators). A row is inserted with the
TransactionSigned event and its outcome set with the TransactionConfirmed / TransactionDropped
event, in the SAME transaction as the event (`adapters.postgres.channel_transactions`); a second
row for a hash violates the primary key, which the store treats like a conflicting writer.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from domain.channel import Channel


@dataclass(frozen=True)
class TransactionRow:
    """One recorded transaction; `succeeded` None while pending, False if dropped or reverted."""

    channel_id: UUID
    tx_hash: str
    purpose: str
    raw_transaction: str
    sender: str
    nonce: int
    signed_version: int  # the channel's version at TransactionSigned: the order of signing
    succeeded: bool | None = None
    dropped: bool = False

    def as_recorded(self) -> dict[str, Any]:
        """The shape the Channel's state gives a transaction."""
        return {
            "purpose": self.purpose,
            "raw_transaction": self.raw_transaction,
            "sender": self.sender,
            "nonce": self.nonce,
            "confirmed": self.succeeded is not None and not self.dropped,
            "succeeded": self.succeeded,
            "dropped": self.dropped,
        }


@dataclass(frozen=True)
class TransactionOutcome:
    """How a recorded transaction ended: confirmed (succeeded or reverted) or dropped."""

    channel_id: UUID
    tx_hash: str
    succeeded: bool
    dropped: bool


@dataclass(frozen=True)
class TransactionChanges:
    """What one save writes to the index: new rows, then outcomes (of these rows or older)."""

    signed: list[TransactionRow]
    outcomes: list[TransactionOutcome]

    def __bool__(self) -> bool:
        return bool(self.signed or self.outcomes)


class TransactionIndex(Protocol):
    """The port: looking recorded transactions up (writing is the recorder's)."""

    def find(self, channel_id: UUID, tx_hash: str) -> TransactionRow | None: ...

    def succeeded_for(self, channel_id: UUID, purpose: str) -> TransactionRow | None: ...

    def of_channel(self, channel_id: UUID) -> list[TransactionRow]: ...


def changes_of(events: Sequence[Any]) -> TransactionChanges:
    """The index changes of the transaction events among `events` (one save's)."""
    signed, outcomes = [], []
    for e in events:
        if isinstance(e, Channel.TransactionSigned):
            signed.append(
                TransactionRow(
                    e.originator_id,
                    e.tx_hash,
                    e.purpose,
                    e.raw_transaction,
                    e.sender,
                    e.nonce,
                    e.originator_version,
                )
            )
        elif isinstance(e, Channel.TransactionConfirmed):
            outcomes.append(TransactionOutcome(e.originator_id, e.tx_hash, e.succeeded, False))
        elif isinstance(e, Channel.TransactionDropped):
            outcomes.append(TransactionOutcome(e.originator_id, e.tx_hash, False, True))
    return TransactionChanges(signed, outcomes)


class InMemoryTransactionIndex:
    """The index for the in-memory event store (unit tests): rows in a dict, changed under
    `lock` together with the events (`ChannelCommands._record`)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._rows: dict[tuple[UUID, str], TransactionRow] = {}

    def find(self, channel_id: UUID, tx_hash: str) -> TransactionRow | None:
        return self._rows.get((channel_id, tx_hash))

    def succeeded_for(self, channel_id: UUID, purpose: str) -> TransactionRow | None:
        found = [
            row
            for row in self.of_channel(channel_id)
            if row.purpose == purpose and row.succeeded is True
        ]
        return found[-1] if found else None

    def of_channel(self, channel_id: UUID) -> list[TransactionRow]:
        rows = [row for key, row in self._rows.items() if key[0] == channel_id]
        return sorted(rows, key=lambda row: row.signed_version)

    def check_new(self, changes: TransactionChanges) -> None:
        """IntegrityError, as PostgreSQL's primary key would raise, if a row exists already."""
        for row in changes.signed:
            if (row.channel_id, row.tx_hash) in self._rows:
                raise IntegrityError(f"transaction {row.tx_hash} is already recorded")

    def apply(self, changes: TransactionChanges) -> None:
        for row in changes.signed:
            self._rows[(row.channel_id, row.tx_hash)] = row
        for outcome in changes.outcomes:
            key = (outcome.channel_id, outcome.tx_hash)
            found = self._rows.get(key)
            if found is not None:  # (an UPDATE of no row changes nothing either)
                self._rows[key] = replace(
                    found, succeeded=outcome.succeeded, dropped=outcome.dropped
                )
