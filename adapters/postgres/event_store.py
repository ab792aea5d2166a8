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
its size.

Idempotency rows: the index rows of the batches a save records (`application.batch_index`), of
the claims it credits (`application.claim_index`), and a channel's observed logs and recorded
transactions come with the events as the keywords `packet_batches`, `received_claims`,
`channel_logs` and `channel_transactions`, and are inserted after them, in the same transaction
(`adapters.postgres.packet_batches`, `.received_claims`, `.channel_logs`).

`PERSISTENCE_MODULE` names `EventStoreFactory` (see `application.event_store.postgres_env`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing import postgres as es_postgres
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.utils import retry

from adapters.postgres import received_claims
from adapters.postgres.channel_logs import PostgresChannelIndexes, insert_logs, write_transactions
from adapters.postgres.packet_batches import PostgresBatchIndex, insert_rows

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
        packet_batches = kwargs.pop("packet_batches", ())
        claims = kwargs.pop("received_claims", ())
        channel_logs = kwargs.pop("channel_logs", ())
        channel_transactions = kwargs.pop("channel_transactions", None)
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._insert_events(curs, stored_events, **kwargs)
            # Locks the table (insert order = commit order, for followers), notifies, inserts.
            self._insert_stored_events(curs, stored_events, **kwargs)
            ids = self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
            if packet_batches:
                insert_rows(curs, packet_batches)
            if claims:
                received_claims.insert_rows(curs, claims)
            if channel_logs:
                insert_logs(curs, channel_logs)
            if channel_transactions:
                write_transactions(curs, channel_transactions)
            return ids


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
