"""The rail coordinator: ranks the rails serving a peer, falls back, and guards each by a breaker.

A decision is a plan for one settlement: `rank()` picks the best rail that may take a call now
(taking the breaker's single probe if that rail is half-open); when the attempt on it fails, the
caller records the outcome and asks `next_after()` for the next rail in the same ranking.
Candidates that cannot be used are listed in the decision with the reason:
"not configured", "disabled", "no token network" (not deployed yet), "circuit open",
"probe in flight" (half-open, its single probe is out).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime

from application.rails.circuit_breaker import BreakerState, CircuitBreaker
from application.rails.config import RailConfig, RailsSettings
from application.rails.errors import InvalidLatency, RailNotInDecision, UnknownRail
from application.rails.scoring import RailMeasures, RoutingDecision, score_rails

logger = logging.getLogger(__name__)

NOT_CONFIGURED = "not configured"
DISABLED = "disabled"
# A rail status text, not a password (bandit B105).
NO_TOKEN_NETWORK = "no token network"  # nosec B105
CIRCUIT_OPEN = "circuit open"
PROBE_IN_FLIGHT = "probe in flight"


class RailCoordinator:
    def __init__(self, settings: RailsSettings, clock: Callable[[], datetime]) -> None:
        self._settings = settings
        self._clock = clock
        self._rails: dict[str, RailConfig] = {rail.name: rail for rail in settings.rails}
        self._breakers = {name: self._new_breaker() for name in self._rails}
        self._latency_ms = {name: float(r.estimated_latency_ms) for name, r in self._rails.items()}
        self._last_score: dict[str, float] = {}  # per rail, from the latest decision ranking it
        self._lock = threading.Lock()

    @property
    def rails(self) -> list[str]:
        """Configured rail names, in configuration order."""
        return list(self._rails)

    def rail(self, name: str) -> RailConfig:
        return self._known(name)

    def breaker_state(self, rail: str) -> BreakerState:
        self._known(rail)
        return self._breakers[rail].state

    def last_score(self, rail: str) -> float | None:
        """The rail's score in the latest decision that ranked it; None before any did."""
        self._known(rail)
        return self._last_score.get(rail)

    def latency_estimate_ms(self, rail: str) -> float:
        self._known(rail)
        return self._latency_ms[rail]

    def replace_rail(self, config: RailConfig) -> None:
        """Swaps a rail's configuration (e.g. token network after deployment, enabled flag),
        keeping its breaker and latency estimate; a new name adds a rail."""
        with self._lock:
            if config.name not in self._rails:
                self._breakers[config.name] = self._new_breaker()
                self._latency_ms[config.name] = float(config.estimated_latency_ms)
            self._rails[config.name] = config

    def rank(self, candidates: Sequence[str] | None = None) -> RoutingDecision:
        """Ranks the candidates (default: every configured rail) and chooses the best usable one."""
        with self._lock:
            names = list(dict.fromkeys(self._rails if candidates is None else candidates))
            skipped: dict[str, str] = {}
            measures: list[RailMeasures] = []
            for name in names:
                reason = self._unusable_reason(name)
                if reason is not None:
                    skipped[name] = reason
                    continue
                measures.append(self._measure(name))
            ranked = score_rails(measures, self._settings.weights)
            self._last_score.update((score.rail, score.score) for score in ranked)
            chosen = next((s.rail for s in ranked if self._breakers[s.rail].allow()), None)
            decision = RoutingDecision(
                chosen=chosen, ranked=ranked, skipped=skipped, at=self._clock(), candidates=names
            )
        logger.info(
            "rail routing decision",
            extra={"chosen": chosen, "ranked": [s.rail for s in ranked], "skipped": skipped},
        )
        return decision

    def standing(self) -> RoutingDecision:
        """The ranking of every configured rail as `rank()` would score it now, for operators:
        no probe is taken and nothing is chosen (`chosen` None), so looking changes nothing."""
        with self._lock:
            names = list(self._rails)
            skipped = {n: r for n in names if (r := self._unusable_reason(n)) is not None}
            measures = [self._measure(n) for n in names if n not in skipped]
            ranked = score_rails(measures, self._settings.weights)
            return RoutingDecision(None, ranked, skipped, self._clock(), names)

    def next_after(self, decision: RoutingDecision, failed_rail: str) -> str | None:
        """The next rail after `failed_rail` in the decision's ranking that may take a call now.

        It does not record the failure: call `record_outcome(failed_rail, False)` first.
        Rails disabled or broken since the decision are passed over."""
        order = [score.rail for score in decision.ranked]
        if failed_rail not in order:
            raise RailNotInDecision(failed_rail, order)
        with self._lock:
            for name in order[order.index(failed_rail) + 1 :]:
                rail = self._rails.get(name)
                if rail is None or not rail.enabled or rail.token_network is None:
                    continue
                if self._breakers[name].allow():
                    logger.info(
                        "rail fallback", extra={"failed_rail": failed_rail, "next_rail": name}
                    )
                    return name
        logger.warning("no rail left to fall back to", extra={"failed_rail": failed_rail})
        return None

    def record_outcome(self, rail: str, success: bool, latency_ms: int | None = None) -> None:
        """Feeds the rail's breaker and, when given, its moving latency estimate."""
        self._known(rail)
        if latency_ms is not None and latency_ms < 0:
            raise InvalidLatency(rail, latency_ms)
        with self._lock:
            breaker = self._breakers[rail]
            before = breaker.state
            breaker.record(success)
            if latency_ms is not None:
                alpha = self._settings.latency_smoothing
                self._latency_ms[rail] = alpha * latency_ms + (1 - alpha) * self._latency_ms[rail]
            after = breaker.state
        if after is not before:
            logger.warning(
                "rail breaker changed state",
                extra={"rail": rail, "from_state": str(before), "to_state": str(after)},
            )

    def _unusable_reason(self, name: str) -> str | None:
        rail = self._rails.get(name)
        if rail is None:
            return NOT_CONFIGURED
        if not rail.enabled:
            return DISABLED
        if rail.token_network is None:
            return NO_TOKEN_NETWORK
        breaker = self._breakers[name]
        if breaker.available():
            return None
        return CIRCUIT_OPEN if breaker.state is BreakerState.OPEN else PROBE_IN_FLIGHT

    def _measure(self, name: str) -> RailMeasures:
        breaker = self._breakers[name]
        return RailMeasures(
            rail=name,
            cost=self._rails[name].estimated_cost,
            latency_ms=self._latency_ms[name],
            success_rate=breaker.success_rate(),
            probe=breaker.state is BreakerState.HALF_OPEN,
        )

    def _known(self, name: str) -> RailConfig:
        rail = self._rails.get(name)
        if rail is None:
            raise UnknownRail(name)
        return rail

    def _new_breaker(self) -> CircuitBreaker:
        settings = self._settings
        return CircuitBreaker(
            window=settings.window,
            failure_threshold=settings.failure_threshold,
            min_outcomes=settings.min_outcomes,
            cooldown=settings.cooldown,
            clock=self._clock,
        )
