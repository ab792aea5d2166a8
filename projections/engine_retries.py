"""Retries of engine-instructed settlements (RFC 0038 "Retrying failed settlements"): the
follower that schedules one whenever such a settlement's reservation goes back to payable, and
the retrier that requests each when it is due. The rules are in `application/engine_retries.py`
and `EngineCommands.retry_engine_settlement`."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg_pool import ConnectionPool

from application.app import SettlementApp
from application.engine_notices import retry_interval
from application.engine_retries import RETRY_BATCH, retry_due_at, retry_key
from application.store import NotFound
from domain.peer_account import PeerAccount
from projections.runner import PositionedEvent, Projection

log = logging.getLogger(__name__)


class EngineSettlementRetries(Projection):
    name = "rfc0038_settlement_retries"

    def __init__(self, app: SettlementApp) -> None:
        self.app = app

    def apply(self, cursor: psycopg.Cursor[Any], events: Sequence[PositionedEvent]) -> None:
        for positioned in events:
            event = positioned.event
            if isinstance(event, PeerAccount.SettlementReleased):
                self._schedule(cursor, event.settlement_id)

    def _schedule(self, cursor: psycopg.Cursor[Any], settlement_id: UUID) -> None:
        try:
            settlement = self.app.settlement(settlement_id)
        except NotFound:
            return
        if retry_key(settlement.settlement_key) is None:
            return  # the node's own settlement: back to payable, as ever
        due = retry_due_at(settlement.updated_at, settlement.settlement_key, settlement.id)
        cursor.execute(
            "INSERT INTO engine_settlement_retries (settlement_id, account_id, next_attempt_at)"
            " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
            (settlement.id, settlement.account_id, due),
        )


class EngineSettlementRetrier:
    """Requests every due retry; one that cannot be requested now (a paused account) is tried
    again later, backing off, for ever."""

    def __init__(
        self,
        app: SettlementApp,
        pool: ConnectionPool[Any],
        clock: Callable[[], datetime],
        rng: random.Random | None = None,
    ) -> None:
        self.app = app
        self.pool = pool
        self.clock = clock
        self.rng = rng or random.SystemRandom()

    def retry_due(self) -> int:
        """Requests the retries due now; how many settlements it requested."""
        now = self.clock()
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT settlement_id, attempts FROM engine_settlement_retries"
                " WHERE next_attempt_at <= %s ORDER BY next_attempt_at LIMIT %s",
                (now, RETRY_BATCH),
            ).fetchall()
        return sum(self._retry(*_values(row), now) for row in rows)

    def _retry(self, failed_id: UUID, attempts: int, now: datetime) -> int:
        try:
            new_id = self.app.retry_engine_settlement(failed_id, now)
        except Exception as error:  # e.g. the account is paused: the amount waits on payable
            with self.pool.connection() as conn:
                conn.execute(
                    "UPDATE engine_settlement_retries SET attempts = attempts + 1,"
                    " next_attempt_at = %s, last_error = %s WHERE settlement_id = %s",
                    (now + retry_interval(attempts + 1, self.rng), str(error)[:500], failed_id),
                )
            log.warning(
                "engine settlement retry postponed",
                extra={"settlement_id": str(failed_id), "error": type(error).__name__},
            )
            return 0
        with self.pool.connection() as conn:
            conn.execute(
                "DELETE FROM engine_settlement_retries WHERE settlement_id = %s", (failed_id,)
            )
        if new_id is not None:
            log.info(
                "engine settlement retried",
                extra={"settlement_id": str(failed_id), "retry_id": str(new_id)},
            )
        return int(new_id is not None)


def _values(row: Any) -> tuple[UUID, int]:
    if isinstance(row, dict):
        return row["settlement_id"], int(row["attempts"])
    return row[0], int(row[1])
