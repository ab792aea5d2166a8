"""Runs projections over the event store's notification log with tracking records.

Each batch of events is applied and the projection's position advanced in one PostgreSQL
transaction, with the tracking row locked, so every event is applied exactly once per
projection, across restarts and even with two runners of the same projection.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg
from eventsourcing.persistence import Notification
from psycopg import sql
from psycopg.rows import tuple_row
from psycopg_pool import ConnectionPool

from application.new_events import NewEvents

log = logging.getLogger(__name__)

_MAX_POSITION = 2**63 - 1  # notification ids are bigint

# How often a follower woken by NewEvents still looks for events written by other processes.
FALLBACK_POLL_SECONDS = 1.0


@dataclass(frozen=True)
class PositionedEvent:
    position: int
    event: Any
    topic: str


class Projection(ABC):
    """A read model or an outbound feed fed from the event stream."""

    name: str

    @abstractmethod
    def apply(self, cursor: psycopg.Cursor[Any], events: Sequence[PositionedEvent]) -> None:
        """Applies a batch inside the transaction that then advances the tracking record.

        External side effects must be idempotent and acknowledged before this returns.
        """


class EventSource(Protocol):
    """What a runner needs of the application: its recorder and mapper."""

    @property
    def recorder(self) -> Any: ...

    @property
    def mapper(self) -> Any: ...


class ProjectionRunner:
    def __init__(
        self,
        app: EventSource,
        pool: ConnectionPool[Any],
        projection: Projection,
        *,
        batch_size: int = 500,
        schema: str = "public",
    ) -> None:
        self.app = app
        self.pool = pool  # the node's one pool: a connection is held only for a batch
        self.projection = projection
        self.batch_size = batch_size
        self.schema = schema
        self._tracking = sql.Identifier(schema, "projection_tracking")
        # Threads sharing a runner take turns (a batch at a time).
        self._lock = threading.RLock()
        self._seen = 0  # the last position this runner found applied (for waiting on news)

    def close(self) -> None:
        """Nothing to release: connections go back to the pool after each batch."""

    def position(self) -> int:
        with self._lock:
            return self._position()

    def _position(self) -> int:
        with self.pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
            row = cursor.execute(
                sql.SQL("SELECT position FROM {} WHERE projection = %s").format(self._tracking),
                (self.projection.name,),
            ).fetchone()
        return int(row[0]) if row else 0

    def run_once(self, stop_at: int | None = None) -> int:
        """Applies the next batch of events, if any; returns how many were applied."""
        with self._lock:
            return self._run_once(stop_at)

    def _run_once(self, stop_at: int | None) -> int:
        with self.pool.connection() as conn:
            with conn.transaction(), conn.cursor(row_factory=tuple_row) as cursor:
                cursor.execute(
                    sql.SQL(
                        "INSERT INTO {} (projection) VALUES (%s) ON CONFLICT DO NOTHING"
                    ).format(self._tracking),
                    (self.projection.name,),
                )
                cursor.execute(
                    sql.SQL("SELECT position FROM {} WHERE projection = %s FOR UPDATE").format(
                        self._tracking
                    ),
                    (self.projection.name,),
                )
                row = cursor.fetchone()
                assert row is not None
                position = int(row[0])
                self._seen = position
                if stop_at is not None and position >= stop_at:
                    return 0
                notifications = self._notifications(cursor, position, stop_at)
                if not notifications:
                    return 0
                to_event = self.app.mapper.to_domain_event
                events = [PositionedEvent(n.id, to_event(n), n.topic) for n in notifications]
                self.projection.apply(cursor, events)
                cursor.execute(
                    sql.SQL(
                        "UPDATE {} SET position = %s, updated_at = now() WHERE projection = %s"
                    ).format(self._tracking),
                    (events[-1].position, self.projection.name),
                )
            self._seen = events[-1].position
            return len(events)

    def _notifications(
        self, cursor: psycopg.Cursor[Any], after: int, stop_at: int | None
    ) -> list[Notification]:
        """The next batch of the log, read on the batch's own connection: taking a second one
        from the pool while holding this one could starve the pool when every follower does."""
        recorder = self.app.recorder
        table = sql.Identifier(recorder.datastore.schema, recorder.events_table_name)
        query = sql.SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {}"
            " WHERE notification_id > %s AND notification_id <= %s"
            " ORDER BY notification_id LIMIT %s"
        ).format(table)
        stop = stop_at if stop_at is not None else _MAX_POSITION
        rows = cursor.execute(query, (after, stop, self.batch_size)).fetchall()
        return [
            Notification(
                id=row[0],
                originator_id=row[1],
                originator_version=row[2],
                topic=row[3],
                state=bytes(row[4]),
            )
            for row in rows
        ]

    def catch_up(self, stop_at: int | None = None) -> int:
        """Applies events until none are left (or `stop_at` is reached)."""
        total = 0
        while True:
            applied = self.run_once(stop_at)
            if applied == 0:
                return total
            total += applied

    def run_forever(
        self,
        stop: threading.Event,
        *,
        poll_interval: float = 0.1,
        max_backoff: float = 30.0,
        guard: Callable[[], bool] | None = None,
    ) -> None:
        """Follows the log until `stop` is set; backs off while a dependency is down.

        With the application's NewEvents signal it wakes as soon as events are recorded and
        polls only as a fallback (events written by another process), every `fallback_poll`.
        `guard` is asked before every batch (leadership fencing): once it says no, this returns.
        """
        news: NewEvents | None = getattr(self.app, "new_events", None)
        backoff = poll_interval
        while not stop.is_set():
            if guard is not None and not guard():
                log.warning("follower not allowed on", extra={"follower": self.projection.name})
                return
            try:
                applied = self.run_once()
                backoff = poll_interval
            except Exception as error:  # a failing batch is retried; it never advances tracking
                log.warning(
                    "projection batch failed",
                    extra={"projection": self.projection.name, "error": repr(error)},
                )
                if not getattr(error, "retryable", True):
                    raise
                stop.wait(backoff)
                backoff = min(backoff * 2, max_backoff)
                continue
            if applied == 0:
                if news is None:
                    stop.wait(poll_interval)
                else:
                    self._wait_for_news(news, stop)

    def _wait_for_news(self, news: NewEvents, stop: threading.Event) -> None:
        """Until events beyond what was applied are recorded, `stop` is set, or the fallback
        poll is due — in short slices, so a stop is noticed promptly."""
        deadline = time.monotonic() + FALLBACK_POLL_SECONDS
        while not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or news.wait_beyond(self._seen, min(remaining, 0.25)):
                return


def head_position(app: EventSource) -> int:
    """The position of the last event recorded."""
    return int(app.recorder.max_notification_id() or 0)
