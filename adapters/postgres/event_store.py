"""The eventsourcing library's PostgreSQL persistence, with two faults of its own removed.

Start-up: every process that opens the store runs the library's table setup (CREATE TYPE,
CREATE TABLE IF NOT EXISTS, CREATE OR REPLACE FUNCTION). Run by two processes at once, the
catalogue updates collide ("tuple concurrently updated", or a duplicate key in pg_type); so the
setup runs here under a PostgreSQL advisory lock, one process after another, and not at all
when the store is already set up (its DDL would otherwise queue behind the table's writers).

Inserting events: the library sends its insert in psycopg's pipeline mode. When a request is
larger than the socket's send buffer (a few hundred kB: a batch of a few thousand packets),
psycopg stops writing once its command queue is empty although libpq still holds unsent bytes,
then waits to read a result the server cannot send before it has the rest of the request: both
sides wait forever. Here the same statements (lock the table, notify, insert) run as ordinary
statements in one transaction; psycopg then flushes a request whole before it waits, whatever
its size. A save is three round trips: BEGIN with the lock and NOTIFY as one simple query (no
parameters), the INSERT, COMMIT.

Idempotency rows: the index rows of the batches a save records (`application.batch_index`), of
the claims it credits (`application.claim_index`), and a channel's observed logs and recorded
transactions come with the events as the keywords `packet_batches`, `received_claims`,
`channel_logs` and `channel_transactions`, and are inserted in the same transaction: the batch
rows in the events' own INSERT statement (a CTE: no round trip of their own, the hot path), the
others after it (`adapters.postgres.packet_batches`, `.received_claims`, `.channel_logs`).

`PERSISTENCE_MODULE` names `EventStoreFactory` (see `application.event_store.postgres_env`).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from eventsourcing import postgres as es_postgres
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.utils import retry
from psycopg.pq import TransactionStatus
from psycopg.sql import SQL, Composed, Identifier

from adapters.postgres import packet_batches, received_claims
from adapters.postgres.channel_logs import PostgresChannelIndexes, insert_logs, write_transactions
from adapters.postgres.packet_batches import PostgresBatchIndex
from application.batch_index import BatchRow

SCHEMA_LOCK_KEY = 0x5E7720
"""The advisory lock held while the event store's tables are set up (migrations use 0x5E771E)."""


def under_schema_lock(datastore: es_postgres.PostgresDatastore, setup: Callable[[], None]) -> None:
    """Runs `setup` while this session holds the schema advisory lock.

    The lock is a session lock on a connection of the store's own pool, released in any case;
    a process that dies holding it releases it with its connection.
    """
    with datastore.get_connection() as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
        try:
            setup()
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK_KEY,))


def already_set_up(
    datastore: es_postgres.PostgresDatastore, relations: Sequence[str], types: Sequence[str]
) -> bool:
    """Whether the tables or indexes `relations` and composite `types` all exist already."""
    schema = datastore.schema
    with datastore.get_connection() as conn:
        row = conn.execute(
            "SELECT bool_and(to_regclass(format('%%I.%%I', %s::text, r)) IS NOT NULL)"
            " AND bool_and(to_regtype(format('%%I.%%I', %s::text, t)) IS NOT NULL)"
            " FROM unnest(%s::text[]) AS r, unnest(%s::text[]) AS t",
            (schema, schema, list(relations), list(types)),
        ).fetchone()
    return bool(row and next(iter(row.values())))


class EventRecorder(es_postgres.PostgresApplicationRecorder):
    """The events table: set up under the schema lock, written without pipeline mode, with the
    packet batch rows of a save in the events' transaction."""

    _begin_and_lock_bytes: bytes | None = None  # composed on first use (`_begin_and_lock`)

    @property
    def batch_index(self) -> PostgresBatchIndex:
        return PostgresBatchIndex(self.datastore)

    @property
    def received_claim_index(self) -> received_claims.PostgresReceivedClaimIndex:
        return received_claims.PostgresReceivedClaimIndex(self.datastore, self.events_table_name)

    @property
    def channel_log_index(self) -> PostgresChannelIndexes:
        return PostgresChannelIndexes(self.datastore)

    @property
    def channel_transaction_index(self) -> PostgresChannelIndexes:
        return PostgresChannelIndexes(self.datastore)

    def create_table(self) -> None:
        relations = [self.events_table_name, self.notification_id_index_name]
        if already_set_up(self.datastore, relations, [self.stored_event_type_name]):
            self.datastore.register_type_adapters()
        else:
            under_schema_lock(self.datastore, super().create_table)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return []
        batch_rows = kwargs.pop("packet_batches", ())
        claims = kwargs.pop("received_claims", ())
        channel_logs = kwargs.pop("channel_logs", ())
        channel_transactions = kwargs.pop("channel_transactions", None)
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            # Three round trips for a save: BEGIN with the table lock and the notification,
            # the events' INSERT carrying the batch rows, COMMIT.
            try:
                curs.execute(self._begin_and_lock(conn))
                self._insert_events(curs, stored_events, **kwargs)
                self._insert_with_batch_rows(curs, stored_events, batch_rows)
                ids = self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
                if claims:
                    received_claims.insert_rows(curs, claims)
                if channel_logs:
                    insert_logs(curs, channel_logs)
                if channel_transactions:
                    write_transactions(curs, channel_transactions)
                curs.execute(b"COMMIT")
            except BaseException:
                _roll_back(conn)
                raise
            return ids

    def _begin_and_lock(self, conn: Any) -> bytes:
        """BEGIN, the library's table lock (insert order = commit order, for followers) and
        NOTIFY, sent as one simple query: no parameters, so one round trip for all four.
        Composed once, on the connection in hand: taking another from the pool here could wait
        on a pool that every saving thread holds."""
        if self._begin_and_lock_bytes is None:
            statements = [
                SQL("BEGIN"),
                *self.lock_table_statements,
                SQL("NOTIFY {0}").format(Identifier(self.channel_name)),
            ]
            self._begin_and_lock_bytes = SQL("; ").join(statements).as_bytes(conn)
        return self._begin_and_lock_bytes

    def _insert_with_batch_rows(
        self, curs: Any, stored_events: Sequence[StoredEvent], rows: Sequence[BatchRow]
    ) -> None:
        """The library's INSERT of the events, with the packet batch rows in a CTE of the same
        statement: a batch recorded already fails the events too (its primary key)."""
        events = [
            self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
            for e in stored_events
        ]
        if not rows:
            curs.execute(self.insert_events_statement, (events,))
            return
        curs.execute(self._insert_with_cte, (*packet_batches.cte_params(rows), events))

    @functools.cached_property
    def _insert_with_cte(self) -> Composed:
        return SQL(packet_batches.BATCH_ROWS_CTE) + self.insert_events_statement


def _roll_back(conn: psycopg.Connection[Any]) -> None:
    """Ends the transaction opened by hand (the connection is in autocommit mode), unless the
    connection is gone: the pool then discards it."""
    if conn.closed or conn.info.transaction_status == TransactionStatus.IDLE:
        return
    # The original error is the one to raise; the pool checks the connection on return.
    with contextlib.suppress(psycopg.Error):
        conn.execute(b"ROLLBACK")


class SnapshotRecorder(es_postgres.PostgresAggregateRecorder):
    """The snapshots table: set up under the schema lock."""

    def create_table(self) -> None:
        if already_set_up(self.datastore, [self.events_table_name], [self.stored_event_type_name]):
            self.datastore.register_type_adapters()
        else:
            under_schema_lock(self.datastore, super().create_table)


class TrackingRecorder(es_postgres.PostgresTrackingRecorder):
    """A follower's tracking table: set up under the schema lock (always: the library may
    migrate an existing table)."""

    def create_table(self) -> None:
        under_schema_lock(self.datastore, super().create_table)


class EventStoreFactory(es_postgres.PostgresFactory):
    aggregate_recorder_class = SnapshotRecorder
    application_recorder_class = EventRecorder
    tracking_recorder_class = TrackingRecorder
