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
from typing import Any, Protocol
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


class PayableAccounts(Protocol):
    """The accounts worth a look: something payable and not paused (from the read models)."""

    def payable_accounts(self) -> list[UUID]: ...


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

    def sweep(self, accounts: PayableAccounts) -> int:
        """Considers every account with something payable (the read model only narrows the
        search: each decision is on the account's own state)."""
        return sum(
            self.consider(account_id) is not None for account_id in accounts.payable_accounts()
        )

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
