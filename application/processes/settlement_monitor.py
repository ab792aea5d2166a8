"""Settlement monitor: a threshold crossing starts a settlement of payable down to settle-to.

At most one active settlement per peer account: the monitor remembers the account's active
settlement in its own table, written in the transaction that advances its tracking record,
and a crossing while that settlement is still active is a no-op. When a settlement finishes
(its amount applied or released) and payable is still at or above the threshold, the next
settlement starts then. Settlement ids and amounts derive from the triggering event and the
account's state at that event, so a replay after a crash requests the same settlement.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import psycopg

from application.app import SettlementApp
from application.store import NotFound
from domain.peer_account import PeerAccount
from domain.settlement import SettlementStatus
from projections.runner import PositionedEvent, Projection

log = logging.getLogger(__name__)


class SettlementMonitor(Projection):
    name = "settlement_monitor"

    def __init__(self, app: SettlementApp, clock: Callable[[], datetime]) -> None:
        self.app = app
        self.clock = clock

    def apply(self, cursor: psycopg.Cursor[Any], events: Sequence[PositionedEvent]) -> None:
        for positioned in events:
            event = positioned.event
            if isinstance(event, PeerAccount.SettlementThresholdCrossed):
                self._consider(cursor, event, "crossing")
            elif isinstance(event, (PeerAccount.SettlementApplied, PeerAccount.SettlementReleased)):
                self._consider(cursor, event, "after")

    def _consider(self, cursor: psycopg.Cursor[Any], event: Any, trigger: str) -> None:
        account_id = event.originator_id
        row = cursor.execute(
            "SELECT settlement_id FROM monitor_active_settlements WHERE account_id = %s",
            (account_id,),
        ).fetchone()
        if row is not None and self._is_active(row[0]):
            log.info("settlement already active", extra={"account_id": str(account_id)})
            return
        account = self.app.load_version(account_id, PeerAccount, event.originator_version)
        if account.payable < account.threshold or account.paused_reason is not None:
            return
        amount = account.settlement_amount()
        key = f"{account_id}:{trigger}:{event.originator_version}"
        settlement_id = self.app.request_settlement(key, account_id, amount, self.clock())
        cursor.execute(
            "INSERT INTO monitor_active_settlements (account_id, settlement_id) VALUES (%s, %s)"
            " ON CONFLICT (account_id) DO UPDATE SET settlement_id = excluded.settlement_id",
            (account_id, settlement_id),
        )
        log.info(
            "settlement requested",
            extra={
                "account_id": str(account_id),
                "settlement_id": str(settlement_id),
                "amount": amount,
            },
        )

    def _is_active(self, settlement_id: Any) -> bool:
        """Not terminal — or dead-lettered with a signed proof out and not yet resolved, whose
        value is promised to the peer: a new settlement must not sign past it."""
        try:
            settlement = self.app.settlement(settlement_id)
        except NotFound:
            return False
        if not settlement.is_terminal:
            return True
        return (
            settlement.status == SettlementStatus.DEAD_LETTERED
            and settlement.has_signed_proof
            and settlement.resolution is None
        )
