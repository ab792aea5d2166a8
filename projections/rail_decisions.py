"""The last routing decision the node recorded (a settlement's `RailChosen`), and what it says of
each rail: its score and its breaker's state at that moment.

Breakers and latency estimates live in the memory of the running node; the decision recorded
with each settlement is their durable trace, so an operator command run beside the node reads
that rather than a fresh, empty coordinator of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg.rows import tuple_row

from application.rails.circuit_breaker import BreakerState
from application.rails.coordinator import CIRCUIT_OPEN, PROBE_IN_FLIGHT
from domain.settlement import Settlement

_LAST_DECISION = (
    "SELECT originator_id FROM settlementledger_events WHERE topic LIKE %s"
    " ORDER BY notification_id DESC LIMIT 1"
)


@dataclass(frozen=True)
class RailAtDecision:
    """One rail as the last decision saw it; `breaker` None when it was not a candidate."""

    breaker: str | None
    score: float | None
    skipped: str | None


def last_rail_decision(pool: Any, app: Any) -> dict[str, Any] | None:
    """The decision recorded by the newest `RailChosen` event, or None if none was recorded."""
    with pool.connection() as connection, connection.cursor(row_factory=tuple_row) as cursor:
        row = cursor.execute(_LAST_DECISION, ("%:Settlement.RailChosen",)).fetchone()
    if row is None:
        return None
    chosen = [e for e in app.history(row[0]) if isinstance(e, Settlement.RailChosen)]
    return dict(chosen[-1].decision) if chosen else None


def rail_at_decision(decision: dict[str, Any] | None, rail: str) -> RailAtDecision:
    """The breaker state and score a recorded decision implies for `rail`."""
    if decision is None:
        return RailAtDecision(None, None, None)
    skipped = dict(decision.get("skipped") or {}).get(rail)
    if skipped is not None:
        states = {CIRCUIT_OPEN: BreakerState.OPEN, PROBE_IN_FLIGHT: BreakerState.HALF_OPEN}
        state = states.get(skipped)
        return RailAtDecision(str(state) if state else None, None, skipped)
    for ranked in decision.get("ranked") or []:
        if ranked.get("rail") == rail:
            state = BreakerState.HALF_OPEN if ranked.get("probe") else BreakerState.CLOSED
            return RailAtDecision(str(state), float(ranked["score"]), None)
    return RailAtDecision(None, None, None)
