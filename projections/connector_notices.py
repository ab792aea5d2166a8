"""The connector's notices of incoming settlements (RFC 0038 "Credit incoming settlement"): the
follower that turns credited claims into obligations, and the sender that tells the connector
until it acknowledges. What the application decides is in `application/engine_notices.py`."""

from __future__ import annotations

import logging
import random
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg_pool import ConnectionPool

from application.app import SettlementApp
from application.engine_notices import (
    SEND_BATCH,
    ConnectorPort,
    ConnectorRefused,
    retry_interval,
)
from application.engine_quantity import Quantity
from domain.engine_account import EngineAccount
from domain.peer_account import PeerAccount
from projections.runner import PositionedEvent, Projection

log = logging.getLogger(__name__)


class ConnectorNotices(Projection):
    name = "rfc0038_connector_notices"

    def __init__(self, app: SettlementApp, clock: Callable[[], datetime]) -> None:
        self.app = app
        self.clock = clock

    def apply(self, cursor: psycopg.Cursor[Any], events: Sequence[PositionedEvent]) -> None:
        for positioned in events:
            event = positioned.event
            if isinstance(event, EngineAccount.Created):
                cursor.execute(
                    "INSERT INTO engine_accounts (peer_account_id, engine_id, account_id,"
                    " asset_scale) VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    (
                        event.peer_account_id,
                        event.originator_id,
                        event.account_id,
                        event.asset_scale,
                    ),
                )
            elif isinstance(event, PeerAccount.SettlementReceived):
                self._owe(cursor, positioned.position, event)
            elif isinstance(event, EngineAccount.IncomingOwed):
                cursor.execute(
                    "INSERT INTO engine_notices (key, engine_id, account_id, amount, scale,"
                    " next_attempt_at) SELECT %s, engine_id, account_id, %s, asset_scale, %s"
                    " FROM engine_accounts WHERE engine_id = %s ON CONFLICT DO NOTHING",
                    (event.key, event.amount, self.clock(), event.originator_id),
                )
            elif isinstance(event, EngineAccount.IncomingAcknowledged):
                cursor.execute("DELETE FROM engine_notices WHERE key = %s", (event.key,))

    def _owe(self, cursor: psycopg.Cursor[Any], position: int, event: Any) -> None:
        row = cursor.execute(
            "SELECT 1 FROM engine_accounts WHERE peer_account_id = %s", (event.originator_id,)
        ).fetchone()
        if row is None:
            return  # not an engine account: nobody to tell
        key = secrets.token_urlsafe(32)  # RFC 0038: from a cryptographically secure source
        self.app.owe_incoming_settlement(
            event.originator_id, position, event.claim_id, event.amount, key
        )


class ConnectorNotifier:
    """Tells the connector each due notice; records acknowledgements, reschedules failures."""

    def __init__(
        self,
        app: SettlementApp,
        pool: ConnectionPool[Any],
        connector: ConnectorPort,
        clock: Callable[[], datetime],
        rng: random.Random | None = None,
    ) -> None:
        self.app = app
        self.pool = pool
        self.connector = connector
        self.clock = clock
        self.rng = rng or random.SystemRandom()

    def send_due(self) -> int:
        """Tells the connector of every notice due now; how many it acknowledged."""
        now = self.clock()
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT key, engine_id, account_id, amount, scale, attempts FROM engine_notices"
                " WHERE next_attempt_at <= %s ORDER BY next_attempt_at LIMIT %s",
                (now, SEND_BATCH),
            ).fetchall()
        acknowledged = 0
        for row in rows:
            key, engine_id, account_id, amount, scale, attempts = _values(row)
            acknowledged += self._send(
                key, engine_id, account_id, Quantity(int(amount), scale), attempts, now
            )
        return acknowledged

    def _send(
        self,
        key: str,
        engine_id: UUID,
        account_id: str,
        owed: Quantity,
        attempts: int,
        now: datetime,
    ) -> int:
        try:
            credited = self.connector.credit_incoming(account_id, key, owed)
        except ConnectorRefused as refusal:
            log.error(
                "connector refused an incoming settlement",
                extra={"key": key, "account": account_id, "status": refusal.status},
            )
            self.app.acknowledge_incoming_settlement(engine_id, key, 0)
            return 1
        except Exception as error:  # no answer or a 5xx: retried with the same key
            delay = retry_interval(attempts, self.rng)
            with self.pool.connection() as conn:
                conn.execute(
                    "UPDATE engine_notices SET attempts = attempts + 1, next_attempt_at = %s,"
                    " last_error = %s WHERE key = %s",
                    (now + delay, str(error)[:500], key),
                )
            return 0
        self.app.acknowledge_incoming_settlement(engine_id, key, _credited(credited, owed))
        return 1


def _credited(credited: Quantity, owed: Quantity) -> int:
    """What the connector says it credited, at the owed scale, never more than owed (a finer
    answer is rounded down: the rest stays uncredited and is told again later)."""
    if credited.scale >= owed.scale:
        amount = credited.amount // 10 ** (credited.scale - owed.scale)
    else:
        amount = credited.amount * 10 ** (owed.scale - credited.scale)
    return int(min(amount, owed.amount))


def _values(row: Any) -> tuple[Any, ...]:
    if isinstance(row, dict):
        return tuple(
            row[k] for k in ("key", "engine_id", "account_id", "amount", "scale", "attempts")
        )
    return tuple(row)
