"""Which packet batches each peer account has recorded: the idempotency records of `record_packets`,
kept outside the account so that its state and snapshots do not grow with its history.

A row per recorded batch (account, batch id, digest, first result, made-at) is written in the
SAME transaction as the batch's `PacketsRecorded` event: the application hands the rows to the
event recorder with the events (`rows_of`), and the PostgreSQL recorder inserts them after the
events (`adapters.postgres.event_store`), so one is never stored without the other. A second row
for the same batch violates the primary key, which the store treats like a conflicting writer:
it reloads and runs the command again, which then finds the row. Rows older than the retention
window are deleted (`forget_batches_before`); a batch made before the window is refused
(`BatchOutsideWindow`), so a forgotten batch can never be recorded twice.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from domain.errors import InvalidBatch
from domain.peer_account import PeerAccount, RecordedBatch

MIN_WINDOW = timedelta(hours=24)
"""The shortest idempotency window a node may be configured with."""

MAX_FUTURE_SKEW = timedelta(minutes=5)
"""How far past the node's clock a connector's made-at may be (clocks differ a little)."""

RETENTION_MARGIN = timedelta(hours=1)
"""Rows are kept this long past the window, so a batch refused as too old was never forgotten."""


class BatchOutsideWindow(InvalidBatch):
    """A batch made before the idempotency window (it may have been recorded and forgotten) or
    too far in the future: refused, never recorded."""

    def __init__(self, batch_id: str, made_at: datetime, window: timedelta, now: datetime) -> None:
        self.made_at = made_at
        self.window = window
        hours = window.total_seconds() / 3600
        where = "in the future" if made_at > now else f"older than the {hours:g} h window"
        super().__init__(
            batch_id,
            f"made_at={made_at.isoformat()} is {where} of idempotency (now {now.isoformat()});"
            " a replay that old cannot be told from a new batch, so it is refused",
        )


@dataclass(frozen=True)
class BatchRow:
    """One recorded batch, as the index stores it."""

    account_id: UUID
    batch_id: str
    digest: str
    result: dict[str, Any]  # RecordedBatch's fields but the digest
    made_at: datetime
    expires: bool = True  # False: kept for good (no made_at given: a replay has no age)

    def recorded(self) -> RecordedBatch:
        return RecordedBatch(
            digest=self.digest,
            version=int(self.result["version"]),
            incoming_total=int(self.result["incoming_total"]),
            outgoing_total=int(self.result["outgoing_total"]),
            threshold_crossed=bool(self.result["threshold_crossed"]),
        )


class BatchIndex(Protocol):
    """The port: looking batches up and forgetting old ones (writing is the recorder's)."""

    def find(self, account_id: UUID, batch_id: str) -> BatchRow | None: ...

    def delete_made_before(self, cutoff: datetime) -> int: ...


def check_made_at(batch_id: str, made_at: datetime, now: datetime, window: timedelta) -> None:
    if made_at.tzinfo is None:
        raise InvalidBatch(batch_id, "made_at must carry a time zone (UTC)")
    if made_at < now - window or made_at > now + MAX_FUTURE_SKEW:
        raise BatchOutsideWindow(batch_id, made_at, window, now)


def rows_of(events: Sequence[Any]) -> list[BatchRow]:
    """The index rows for the batches recorded by `events` (the domain events of one save)."""
    recorded: dict[tuple[UUID, str], Any] = {}
    crossed: set[tuple[UUID, str]] = set()
    for event in events:
        if isinstance(event, PeerAccount.PacketsRecorded):
            recorded[(event.originator_id, event.batch_id)] = event
        elif isinstance(event, PeerAccount.SettlementThresholdCrossed):
            crossed.add((event.originator_id, event.batch_id))
    return [
        BatchRow(
            account_id=key[0],
            batch_id=event.batch_id,
            digest=event.digest,
            result={
                "version": event.originator_version,
                "incoming_total": event.incoming_total,
                "outgoing_total": event.outgoing_total,
                "threshold_crossed": key in crossed,
            },
            made_at=event.made_at or event.timestamp,
            expires=event.made_at is not None,
        )
        for key, event in recorded.items()
    ]


class InMemoryBatchIndex:
    """The index for the in-memory event store (unit tests): rows in a dict, added under `lock`
    together with the events (`PeerAccountCommands._record`)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._rows: dict[tuple[UUID, str], BatchRow] = {}

    def find(self, account_id: UUID, batch_id: str) -> BatchRow | None:
        return self._rows.get((account_id, batch_id))

    def check_new(self, rows: Sequence[BatchRow]) -> None:
        """IntegrityError, as PostgreSQL's primary key would raise, if a row exists already."""
        for row in rows:
            if (row.account_id, row.batch_id) in self._rows:
                raise IntegrityError(f"batch {row.batch_id!r} is already recorded")

    def add(self, rows: Sequence[BatchRow]) -> None:
        for row in rows:
            self._rows[(row.account_id, row.batch_id)] = row

    def delete_made_before(self, cutoff: datetime) -> int:
        with self.lock:
            old = [k for k, row in self._rows.items() if row.expires and row.made_at < cutoff]
            for key in old:
                del self._rows[key]
            return len(old)

    def __len__(self) -> int:
        return len(self._rows)
