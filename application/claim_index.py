"""Which claims each peer account has been credited with: the idempotency records of received
claims, kept outside the account so that its state and snapshots do not grow with its history.

A row per credited claim (account, claim id, body fingerprint, amount, channel, received-at) is
written in the SAME transaction as the claim's `SettlementReceived` event: the application hands
the rows to the event recorder with the events (`rows_of`), and the PostgreSQL recorder inserts
them after the events (`adapters.postgres.event_store`), so one is never stored without the
other. A second row for the same claim id violates the primary key, which the store treats like
a conflicting writer: it reloads and runs the command again, which then finds the row.

A claim id only matters while its channel can still take proofs: rows are forgotten once their
channel is settled on chain AND they are older than the idempotency window
(`forget_settled_before`). A claim on a settled channel is refused whatever its id (the channel
no longer accepts proofs), so a forgotten id can never be credited twice. A row with no channel
(credited without one, or by old code with no proof beside it) is kept for good.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from domain.channel import Channel
from domain.peer_account import PeerAccount

MIN_WINDOW = timedelta(hours=24)
"""The shortest idempotency window of received claims a node may be configured with."""


@dataclass(frozen=True)
class ReceivedClaimRow:
    """One credited claim, as the index stores it."""

    account_id: UUID
    claim_id: str
    fingerprint: str  # "" when credited before fingerprints were kept: any body is a duplicate
    amount: int  # minor units of the account credited
    channel_id: UUID | None  # the Channel aggregate whose proof paid it, when known
    received_at: datetime

    def conflicts_with(self, fingerprint: str) -> bool:
        """Whether a claim with `fingerprint` reuses this claim's id with another body."""
        return bool(self.fingerprint) and self.fingerprint != fingerprint


class ReceivedClaimIndex(Protocol):
    """The port: looking credited claims up and forgetting old ones (writing is the
    recorder's)."""

    def find(self, account_id: UUID, claim_id: str) -> ReceivedClaimRow | None: ...

    def amounts_of(self, account_id: UUID) -> dict[str, int]: ...

    def delete_settled_before(self, cutoff: datetime) -> int: ...


def rows_of(events: Sequence[Any]) -> list[ReceivedClaimRow]:
    """The index rows for the claims credited by `events` (the domain events of one save). The
    channel is the one whose partner proof was accepted in the same save (`credit_claim` saves
    the channel and the account together)."""
    channel_id: UUID | None = None
    for event in events:
        if isinstance(event, Channel.PartnerBalanceProofAccepted):
            channel_id = event.originator_id
    return [
        ReceivedClaimRow(
            account_id=event.originator_id,
            claim_id=event.claim_id,
            fingerprint=event.fingerprint,
            amount=event.amount,
            channel_id=channel_id,
            received_at=event.timestamp,
        )
        for event in events
        if isinstance(event, PeerAccount.SettlementReceived)
    ]


class InMemoryReceivedClaimIndex:
    """The index for the in-memory event store (unit tests): rows in a dict, added under `lock`
    together with the events (`ClaimCommands._record`). `is_settled` tells which channels are
    settled on chain (the PostgreSQL index reads it from the stored events)."""

    def __init__(self, is_settled: Callable[[UUID], bool]) -> None:
        self.lock = threading.Lock()
        self.is_settled = is_settled
        self._rows: dict[tuple[UUID, str], ReceivedClaimRow] = {}

    def find(self, account_id: UUID, claim_id: str) -> ReceivedClaimRow | None:
        return self._rows.get((account_id, claim_id))

    def amounts_of(self, account_id: UUID) -> dict[str, int]:
        with self.lock:
            return {c: row.amount for (a, c), row in self._rows.items() if a == account_id}

    def check_new(self, rows: Sequence[ReceivedClaimRow]) -> None:
        """IntegrityError, as PostgreSQL's primary key would raise, if a row exists already."""
        for row in rows:
            if (row.account_id, row.claim_id) in self._rows:
                raise IntegrityError(f"claim {row.claim_id!r} is already credited")

    def add(self, rows: Sequence[ReceivedClaimRow]) -> None:
        for row in rows:
            self._rows[(row.account_id, row.claim_id)] = row

    def delete_settled_before(self, cutoff: datetime) -> int:
        with self.lock:
            old = [
                key
                for key, row in self._rows.items()
                if row.received_at < cutoff
                and row.channel_id is not None
                and self.is_settled(row.channel_id)
            ]
            for key in old:
                del self._rows[key]
            return len(old)

    def __len__(self) -> int:
        return len(self._rows)
