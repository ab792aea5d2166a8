"""The settlement executor's and monitor's searches (application.processes.settlement_executor.
SettlementWork), on the settlements and balances read models, on the node's pool.

The read models only narrow the search: every decision is then made on the aggregate's own state
inside its atomic save, so a row a moment stale costs at most a look that changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg.rows import tuple_row
from psycopg_pool import ConnectionPool

from domain.settlement import TERMINAL
from projections.runner import ProjectionRunner

_ACTIVE_AND_DUE = (
    "NOT (status = ANY(%(terminal)s)) AND (next_attempt_at IS NULL OR next_attempt_at <= %(now)s)"
)


class SettlementQueries:
    def __init__(self, pool: ConnectionPool[Any], settlements: ProjectionRunner) -> None:
        self._pool = pool
        self._settlements = settlements

    def _ids(self, query: str, params: dict[str, Any]) -> list[UUID]:
        with self._pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
            cursor.execute(query, params)
            return [row[0] for row in cursor.fetchall()]

    def due_settlements(self, now: datetime) -> list[UUID]:
        """Active settlements whose next attempt is due, oldest first (read model caught up)."""
        self._settlements.catch_up()
        return self._ids(
            # A constant fragment; every value is bound.
            f"SELECT settlement_id FROM settlements WHERE {_ACTIVE_AND_DUE}"  # nosec B608
            " ORDER BY requested_at",
            {"terminal": [s.value for s in TERMINAL], "now": now},
        )

    def stuck_settlements(self, now: datetime, unchanged_for: timedelta) -> list[UUID]:
        """Active settlements unchanged for `unchanged_for` and not waiting out a backoff."""
        return self._ids(
            f"SELECT settlement_id FROM settlements WHERE {_ACTIVE_AND_DUE}"  # nosec B608
            " AND updated_at < %(since)s",
            {"terminal": [s.value for s in TERMINAL], "now": now, "since": now - unchanged_for},
        )

    def payable_accounts(self) -> list[UUID]:
        """Accounts with something payable and not paused (the monitor's sweep)."""
        return self._ids("SELECT account_id FROM balances WHERE payable > 0 AND NOT paused", {})
