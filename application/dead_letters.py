"""The dead-letter list: settlements whose retries ran out, and what an operator does with them.

retry: before any proof was signed, the reservation went back to payable, so a new settlement
is requested (and reserved) for what is still payable; after a proof was signed the same claim
is delivered again (its value is already promised to the peer and must never be released), and
its amount applied. discard: only where no proof is out. Each decision is made by the
application on the state it saves.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from application.app import SettlementApp
from application.processes.ports import ClaimPort
from domain.channel import Channel
from domain.errors import IllegalTransition
from domain.peer_account import PeerAccount
from domain.settlement import Settlement, SettlementStatus


class SettlementRows(Protocol):
    """The settlements read model (projections.read_side.ReadSide answers it)."""

    def all_settlements(self, *, status: str | None = None) -> list[dict[str, Any]]: ...


def dead_letters(settlements: SettlementRows) -> list[dict[str, Any]]:
    rows = settlements.all_settlements(status=SettlementStatus.DEAD_LETTERED.value)
    return [row for row in rows if row["resolution"] is None]


def retry_dead_letter(
    app: SettlementApp,
    settlement_id: UUID,
    clock: Callable[[], datetime],
    claims: ClaimPort | None = None,
) -> UUID:
    """Returns the id of the settlement that carries the retry (the same one if redelivered)."""
    settlement = app.settlement(settlement_id)
    _require_open_dead_letter(settlement)
    if not settlement.has_signed_proof:
        return app.retry_dead_letter(settlement_id, clock())
    if claims is None or settlement.channel_id is None:
        raise IllegalTransition(
            "Settlement",
            settlement_id,
            "dead_lettered with a signed proof out",
            "be retried without a claim transport (run it where the node's claims are wired)",
        )
    account = app.load(settlement.account_id, PeerAccount)
    channel = app.load(settlement.channel_id, Channel)
    claims.deliver(account, settlement, channel)  # the same claim again: idempotent at the peer
    app.redeliver_dead_letter(settlement_id, clock())
    return settlement_id


def discard_dead_letter(
    app: SettlementApp, settlement_id: UUID, clock: Callable[[], datetime]
) -> None:
    _require_open_dead_letter(app.settlement(settlement_id))
    app.discard_dead_letter(settlement_id, clock())


def _require_open_dead_letter(settlement: Settlement) -> None:
    if settlement.status != SettlementStatus.DEAD_LETTERED or settlement.resolution is not None:
        state = str(settlement.status)
        if settlement.resolution:
            state += f" ({settlement.resolution})"
        raise IllegalTransition(
            "Settlement", settlement.id, state, "be taken from the dead letters"
        )
