"""The `packet_batches` table (migration 0085): the idempotency records of packet batches.

Rows are inserted by `EventRecorder.insert_events` in the transaction that stores the batches'
events (see `application.batch_index`); this module holds that insert, the lookup the command
makes before it records a batch, and the retention delete; it implements the application's
port `application.batch_index.BatchIndex`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing import postgres as es_postgres
from psycopg import Cursor
from psycopg.types.json import Jsonb

from application.batch_index import BatchRow

_INSERT = (
    "INSERT INTO packet_batches (account_id, batch_id, digest, result, made_at, expires)"
    " VALUES (%s, %s, %s, %s, %s, %s)"
)


def insert_rows(curs: Cursor[Any], rows: Sequence[BatchRow]) -> None:
    """Inserts `rows` with the cursor of the events' transaction; a batch recorded already
    raises the primary key's IntegrityError, which rolls the events back too."""
    curs.executemany(
        _INSERT,
        [(r.account_id, r.batch_id, r.digest, Jsonb(r.result), r.made_at, r.expires) for r in rows],
    )


class PostgresBatchIndex:
    """`application.batch_index.BatchIndex` on the event store's own connection pool."""

    def __init__(self, datastore: es_postgres.PostgresDatastore) -> None:
        self.datastore = datastore

    def find(self, account_id: UUID, batch_id: str) -> BatchRow | None:
        with self.datastore.get_connection() as conn:
            row = conn.execute(
                "SELECT digest, result, made_at, expires FROM packet_batches"
                " WHERE account_id = %s AND batch_id = %s",
                (account_id, batch_id),
            ).fetchone()
        if row is None:
            return None
        digest, result, made_at = row["digest"], row["result"], row["made_at"]
        if isinstance(result, str):  # jsonb arrives decoded unless a loader says otherwise
            result = json.loads(result)
        return BatchRow(account_id, batch_id, digest, result, made_at, bool(row["expires"]))

    def delete_made_before(self, cutoff: datetime) -> int:
        with self.datastore.get_connection() as conn, conn.transaction():
            deleted = conn.execute(
                "DELETE FROM packet_batches WHERE expires AND made_at < %s", (cutoff,)
            )
            return deleted.rowcount
