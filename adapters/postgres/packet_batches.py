"""The `packet_batches` table (migration 0085): the idempotency records of packet batches.

Rows are inserted by `EventRecorder.insert_events` in the statement that stores the batches'
events (see `application.batch_index`); this module holds that insert (a CTE), the lookup the
command makes when a save met a recorded batch, and the retention delete; it implements the
application's port `application.batch_index.BatchIndex`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing import postgres as es_postgres

from application.batch_index import BatchRow

# A data-modifying CTE put before the events' INSERT (`EventRecorder.insert_events`): the rows
# go in with the events in ONE statement, so a save costs no extra round trip for them. A batch
# recorded already violates the primary key and fails the whole statement, events included.
BATCH_ROWS_CTE = (
    "WITH packet_batch_rows AS ("
    "INSERT INTO packet_batches (account_id, batch_id, digest, result, made_at, expires)"
    " SELECT account_id, batch_id, digest, result::jsonb, made_at, expires"
    " FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::text[], %s::timestamptz[],"
    " %s::boolean[]) AS r(account_id, batch_id, digest, result, made_at, expires)) "
)


def cte_params(rows: Sequence[BatchRow]) -> tuple[list[Any], ...]:
    """The parameters of `BATCH_ROWS_CTE` for `rows`: one array per column."""
    return (
        [r.account_id for r in rows],
        [r.batch_id for r in rows],
        [r.digest for r in rows],
        [json.dumps(r.result) for r in rows],
        [r.made_at for r in rows],
        [r.expires for r in rows],
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
