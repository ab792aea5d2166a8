"""The `received_claims` table (migration 0090): the idempotency records of claims credited.

Rows are inserted by `EventRecorder.insert_events` in the transaction that stores the claims'
events (see `application.claim_index`); this module holds that insert, the lookup the claim
command makes inside its atomic save, and the retention delete; it implements the application's
port `application.claim_index.ReceivedClaimIndex`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing import postgres as es_postgres
from psycopg import Cursor
from psycopg.sql import SQL, Identifier

from application.claim_index import ReceivedClaimRow

_INSERT = (
    "INSERT INTO received_claims"
    " (account_id, claim_id, fingerprint, amount, channel_id, received_at)"
    " VALUES (%s, %s, %s, %s, %s, %s)"
)

SETTLED_TOPIC = "domain.channel:Channel.Settled"

# A row goes once it is older than the cutoff and its channel's settlement on chain is recorded
# (looked up by the events table's primary key, per candidate row: no scan of the log).
_DELETE = SQL(
    "DELETE FROM received_claims r WHERE r.received_at < %s AND r.channel_id IS NOT NULL"
    " AND EXISTS (SELECT 1 FROM {schema}.{events} e WHERE e.originator_id = r.channel_id"
    " AND e.topic = %s)"
)


def insert_rows(curs: Cursor[Any], rows: Sequence[ReceivedClaimRow]) -> None:
    """Inserts `rows` with the cursor of the events' transaction; a claim id credited already
    raises the primary key's IntegrityError, which rolls the events back too."""
    curs.executemany(
        _INSERT,
        [
            (r.account_id, r.claim_id, r.fingerprint, r.amount, r.channel_id, r.received_at)
            for r in rows
        ],
    )


class PostgresReceivedClaimIndex:
    """`application.claim_index.ReceivedClaimIndex` on the event store's own connection pool."""

    def __init__(self, datastore: es_postgres.PostgresDatastore, events_table: str) -> None:
        self.datastore = datastore
        self.events_table = events_table

    def find(self, account_id: UUID, claim_id: str) -> ReceivedClaimRow | None:
        with self.datastore.get_connection() as conn:
            row = conn.execute(
                "SELECT fingerprint, amount, channel_id, received_at FROM received_claims"
                " WHERE account_id = %s AND claim_id = %s",
                (account_id, claim_id),
            ).fetchone()
        if row is None:
            return None
        return ReceivedClaimRow(
            account_id,
            claim_id,
            row["fingerprint"],
            int(row["amount"]),
            row["channel_id"],
            row["received_at"],
        )

    def amounts_of(self, account_id: UUID) -> dict[str, int]:
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                "SELECT claim_id, amount FROM received_claims WHERE account_id = %s"
                " ORDER BY received_at, claim_id",
                (account_id,),
            ).fetchall()
        return {row["claim_id"]: int(row["amount"]) for row in rows}

    def delete_settled_before(self, cutoff: datetime) -> int:
        statement = _DELETE.format(
            schema=Identifier(self.datastore.schema), events=Identifier(self.events_table)
        )
        with self.datastore.get_connection() as conn, conn.transaction():
            deleted = conn.execute(statement, (cutoff, SETTLED_TOPIC))
            return deleted.rowcount
