"""Idempotency keys and the responses given under them, in PostgreSQL (`idempotency_keys`).

One row per (scope, key): the request's canonical-JSON fingerprint, the response once given, and
when the key was last used; `purge` forgets keys past the retention window, so the table is
bounded by the request rate times the window.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg_pool import ConnectionPool

from application.engine_idempotency import KeyState, StoredResponse


class PostgresIdempotencyStore:
    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self.pool = pool

    def begin(self, scope: str, key: str, fingerprint: str, at: datetime) -> KeyState:
        with self.pool.connection() as conn:
            row = conn.execute(
                "INSERT INTO idempotency_keys (scope, key, fingerprint, first_seen, last_seen)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (scope, key) DO UPDATE"
                " SET last_seen = GREATEST(idempotency_keys.last_seen, EXCLUDED.last_seen)"
                " RETURNING fingerprint, status, body, content_type",
                (scope, key, fingerprint, at, at),
            ).fetchone()
        assert row is not None
        fields = _fields(row)
        if fields[0] != fingerprint:
            return KeyState(conflict=True, response=None)
        if fields[1] is None:
            return KeyState(conflict=False, response=None)
        return KeyState(False, StoredResponse(int(fields[1]), bytes(fields[2]), str(fields[3])))

    def finish(self, scope: str, key: str, response: StoredResponse) -> None:
        with self.pool.connection() as conn:
            conn.execute(
                "UPDATE idempotency_keys SET status = %s, body = %s, content_type = %s"
                " WHERE scope = %s AND key = %s AND status IS NULL",
                (response.status, response.body, response.content_type, scope, key),
            )

    def purge(self, before: datetime) -> int:
        with self.pool.connection() as conn:
            cursor = conn.execute("DELETE FROM idempotency_keys WHERE last_seen < %s", (before,))
            return int(cursor.rowcount)


def _fields(row: Any) -> tuple[Any, ...]:
    """The row's values whatever the pool's row factory (the node's pool gives dicts)."""
    if isinstance(row, dict):
        return (row["fingerprint"], row["status"], row["body"], row["content_type"])
    return tuple(row)
