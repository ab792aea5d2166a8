"""Which chain logs each channel has recorded a fact from: the idempotency records of the chain
facts (`record_deposit`, `record_channel_closed`, ...), kept outside the Channel so that its
state and snapshots do not grow with its history (issue 14).

A row per observed log (channel, transaction hash, log index) is written in the SAME transaction
as the fact's event: the application hands the rows to the event recorder with the events
(`rows_of`), and the PostgreSQL recorder inserts them after the events
(`adapters.postgres.channel_logs`), so one is never stored without the other. The command looks
the log up inside the atomic save; two writers of the same log both find nothing, and the second
row violates the primary key, which the store treats like a conflicting writer: it reloads and
runs the command again, which then finds the row and records nothing. No retention: a channel
has a handful of logs (open, deposits, close, settle), and the table is indexed by its key.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from domain.channel import Channel

FACT_EVENTS = (
    Channel.Opened,
    Channel.DepositObserved,
    Channel.Closed,
    Channel.Settled,
    Channel.CloserProofUpdated,
)
"""The channel's events that record a fact read from a chain log (each carries its key)."""


@dataclass(frozen=True)
class LogRow:
    """One observed log, as the index stores it (the hash in lower case, as logs are compared)."""

    channel_id: UUID
    tx_hash: str
    log_index: int

    @classmethod
    def of(cls, channel_id: UUID, tx_hash: str, log_index: int) -> LogRow:
        return cls(channel_id, tx_hash.lower(), log_index)


class ObservedLogIndex(Protocol):
    """The port: whether a channel recorded a fact from a log (writing is the recorder's)."""

    def has_observed(self, channel_id: UUID, tx_hash: str, log_index: int) -> bool: ...


def rows_of(events: Sequence[Any]) -> list[LogRow]:
    """The index rows for the logs the chain facts among `events` (one save's) record."""
    return [
        LogRow.of(event.originator_id, event.tx_hash, event.log_index)
        for event in events
        if isinstance(event, FACT_EVENTS)
    ]


class InMemoryObservedLogIndex:
    """The index for the in-memory event store (unit tests): rows in a set, added under `lock`
    together with the events (`ChannelCommands._record`)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._rows: set[LogRow] = set()

    def has_observed(self, channel_id: UUID, tx_hash: str, log_index: int) -> bool:
        return LogRow.of(channel_id, tx_hash, log_index) in self._rows

    def check_new(self, rows: Sequence[LogRow]) -> None:
        """IntegrityError, as PostgreSQL's primary key would raise, if a row exists already."""
        for row in rows:
            if row in self._rows:
                raise IntegrityError(f"log {row.tx_hash}:{row.log_index} is already recorded")

    def add(self, rows: Sequence[LogRow]) -> None:
        self._rows.update(rows)

    def __len__(self) -> int:
        return len(self._rows)
