"""Where each chain watcher has read up to (`chain_cursors`), on the node's pool.

Implements application.chain_sync.ChainCursors. Saving is an upsert, so saving the same cursor
twice (a batch repeated after a crash) changes nothing but `updated_at`.
"""

from __future__ import annotations

from typing import Any

from psycopg.rows import tuple_row
from psycopg_pool import ConnectionPool

from domain.address import Address


class PostgresChainCursors:
    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self._pool = pool

    def next_block(self, chain_id: int, token_network: Address) -> int | None:
        with self._pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
            row = cursor.execute(
                "SELECT next_block FROM chain_cursors WHERE chain_id = %s AND token_network = %s",
                (chain_id, str(token_network)),
            ).fetchone()
        return int(row[0]) if row else None

    def save(self, chain_id: int, token_network: Address, next_block: int) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO chain_cursors (chain_id, token_network, next_block)"
                " VALUES (%s, %s, %s)"
                " ON CONFLICT (chain_id, token_network) DO UPDATE"
                " SET next_block = excluded.next_block, updated_at = now()",
                (chain_id, str(token_network), next_block),
            )
