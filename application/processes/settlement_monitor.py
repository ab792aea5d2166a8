"""Settlement monitor: a peer account that is due gets a settlement, decided from its state.

An account is due when payable is at or above its threshold, no settlement holds part of it
(reserved, or promised to the peer by a signed proof) and it is not paused. Whatever may have
made an account due — a threshold crossing, a settlement ending (completed, failed, timed out,
dead-lettered, released, resolved), a changed threshold, a resume — makes the monitor look at the
account as it is now; `sweep` looks at every account with something payable, on the executor's
periodic pass, so nothing depends on seeing one particular event. The request and its
reservation are one atomic save keyed by the account's settlement sequence, so looking twice,
replaying after a crash or two monitors racing request one settlement, not two.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

from application.app import SettlementApp
from application.store import NotFound
from domain.peer_account import PeerAccount
from domain.settlement import Settlement
from projections.runner import PositionedEvent, Projection

log = logging.getLogger(__name__)

# Events after which an account may be due: it crossed, or something that held it back ended.
ACCOUNT_TRIGGERS = (
    PeerAccount.SettlementThresholdCrossed,
    PeerAccount.SettlementApplied,
    PeerAccount.SettlementReleased,
    PeerAccount.ThresholdChanged,
    PeerAccount.Resumed,
)
SETTLEMENT_TRIGGERS = (
    Settlement.Completed,
    Settlement.Failed,
    Settlement.TimedOut,
    Settlement.DeadLettered,
    Settlement.DeadLetterResolved,
)


class SettlementMonitor(Projection):
    name = "settlement_monitor"

    def __init__(self, app: SettlementApp, clock: Callable[[], datetime]) -> None:
        self.app = app
        self.clock = clock

    def apply(self, cursor: psycopg.Cursor[Any], events: Sequence[PositionedEvent]) -> None:
        accounts: dict[UUID, None] = {}
        for positioned in events:
            account_id = self._account_of(positioned.event)
            if account_id is not None:
                accounts[account_id] = None
        for account_id in accounts:  # once per batch: the decision reads the current state
            self.consider(account_id)

    def consider(self, account_id: UUID) -> UUID | None:
        """Requests a settlement for the account if it is due now; its id, or None."""
        settlement_id = self.app.settle_if_due(account_id, self.clock())
        if settlement_id is not None:
            log.info(
                "settlement requested",
                extra={"account_id": str(account_id), "settlement_id": str(settlement_id)},
            )
        return settlement_id

    def sweep(self, database_url: str) -> int:
        """Considers every account with something payable (from the balances read model, which
        only narrows the search: each decision is on the account's own state)."""
        with psycopg.connect(database_url) as conn:
            rows = conn.execute(
                "SELECT account_id FROM balances WHERE payable > 0 AND NOT paused"
            ).fetchall()
        return sum(self.consider(row[0]) is not None for row in rows)

    def _account_of(self, event: Any) -> UUID | None:
        if isinstance(event, ACCOUNT_TRIGGERS):
            account_id: UUID = event.originator_id
            return account_id
        if isinstance(event, SETTLEMENT_TRIGGERS):
            try:
                return self.app.settlement(event.originator_id).account_id
            except NotFound:
                return None
        return None
