"""How rails are scored and what a routing decision records.

Scoring, for the rails that may take a call now (higher is better, each part in [0, 1]):
- cost_score    = cheapest estimated cost among them / this rail's cost (1.0 when both are 0,
                  0.0 for a paid rail when another is free);
- latency_score = lowest latency estimate among them / this rail's estimate;
- success_rate  = share of successes in the rail's breaker window (1.0 with no outcomes yet);
- score         = (w_cost * cost_score + w_latency * latency_score + w_success * success_rate)
                  / (w_cost + w_latency + w_success).
Order: rails due a probe (breaker half-open, cool-down over) come first, since a rail whose
window still holds the failures that opened it would otherwise never be tried while the others
work; then by score, descending (compared at 9 decimal places so float noise cannot reorder
equal rails); then by name. The first rail is the one chosen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from application.rails.config import RailWeights

_DECIMALS = 6


@dataclass(frozen=True)
class RailMeasures:
    """What is known about a rail when a decision is made."""

    rail: str
    cost: int
    latency_ms: float
    success_rate: float
    probe: bool = False


@dataclass(frozen=True)
class RailScore:
    rail: str
    cost: int
    latency_ms: float
    success_rate: float
    score: float
    cost_score: float = 0.0
    latency_score: float = 0.0
    probe: bool = False

    def as_record(self) -> dict[str, object]:
        return {
            "rail": self.rail,
            "cost": self.cost,
            "latency_ms": round(self.latency_ms, _DECIMALS),
            "success_rate": round(self.success_rate, _DECIMALS),
            "score": round(self.score, _DECIMALS),
            "cost_score": round(self.cost_score, _DECIMALS),
            "latency_score": round(self.latency_score, _DECIMALS),
            "probe": self.probe,
        }


@dataclass(frozen=True)
class RoutingDecision:
    """The ranking of rails for one settlement, best first, and why other candidates were not."""

    chosen: str | None
    ranked: list[RailScore]
    skipped: dict[str, str]
    at: datetime
    candidates: list[str] = field(default_factory=list)

    def as_record(self) -> dict[str, object]:
        """A JSON-safe dict (ints, strs, floats to 6 places, ISO time) for an event."""
        return {
            "at": self.at.isoformat(),
            "chosen": self.chosen,
            "candidates": list(self.candidates),
            "ranked": [score.as_record() for score in self.ranked],
            "skipped": dict(sorted(self.skipped.items())),
        }


def score_rails(measures: Sequence[RailMeasures], weights: RailWeights) -> list[RailScore]:
    """Scores the rails against each other and orders them best first (see module docstring)."""
    if not measures:
        return []
    cheapest = min(measure.cost for measure in measures)
    fastest = min(measure.latency_ms for measure in measures)
    scores = []
    for measure in measures:
        cost_score = _ratio(cheapest, measure.cost)
        latency_score = _ratio(fastest, measure.latency_ms)
        weighted = (
            weights.cost * cost_score
            + weights.latency * latency_score
            + weights.success * measure.success_rate
        )
        scores.append(
            RailScore(
                rail=measure.rail,
                cost=measure.cost,
                latency_ms=measure.latency_ms,
                success_rate=measure.success_rate,
                score=weighted / weights.total,
                cost_score=cost_score,
                latency_score=latency_score,
                probe=measure.probe,
            )
        )
    return sorted(scores, key=lambda s: (not s.probe, -round(s.score, 9), s.rail))


def _ratio(best: float, value: float) -> float:
    if value <= 0:
        return 1.0
    return best / value
