"""A circuit breaker per rail: stop routing to a rail that keeps failing, probe it later.

CLOSED: calls flow; each outcome enters a sliding window of the last `window` outcomes, and the
breaker opens when at least `min_outcomes` are in the window and the failure rate is strictly
above `failure_threshold`.
OPEN: no calls until `cooldown` has passed since it opened; it then reads as HALF_OPEN.
HALF_OPEN: `allow()` grants one probe at a time. The probe's outcome decides: success closes the
breaker and clears the window, failure re-opens it with a new cool-down. A probe that never
reports is presumed lost once a further cool-down has passed, and another probe is granted;
otherwise one lost report would keep the rail out of service for good.

Outcomes recorded while OPEN (calls allowed before it opened, reporting late) enter the window
but change no state. Time comes only from the injected clock.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum

from application.rails.errors import InvalidBreakerSetting


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(
        self,
        window: int,
        failure_threshold: float,
        min_outcomes: int,
        cooldown: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        if window < 1:
            raise InvalidBreakerSetting("window", window, "must be >= 1")
        if not 0 <= failure_threshold < 1:
            raise InvalidBreakerSetting("failure_threshold", failure_threshold, "must be in [0, 1)")
        if not 1 <= min_outcomes <= window:
            raise InvalidBreakerSetting("min_outcomes", min_outcomes, f"must be in [1, {window}]")
        if cooldown <= timedelta(0):
            raise InvalidBreakerSetting("cooldown", cooldown, "must be positive")
        self._failure_threshold = failure_threshold
        self._min_outcomes = min_outcomes
        self._cooldown = cooldown
        self._clock = clock
        self._outcomes: deque[bool] = deque(maxlen=window)
        self._state = BreakerState.CLOSED
        self._opened_at: datetime | None = None
        self._probe_started_at: datetime | None = None
        self._lock = threading.Lock()

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state_at(self._clock())

    @property
    def opened_at(self) -> datetime | None:
        """When the breaker last opened; None while it is closed."""
        return self._opened_at

    def outcomes(self) -> tuple[bool, ...]:
        """The outcomes in the window, oldest first (True = success)."""
        with self._lock:
            return tuple(self._outcomes)

    def failure_rate(self) -> float:
        with self._lock:
            return self._failure_rate()

    def success_rate(self) -> float:
        """Share of successes in the window; 1.0 for an empty window (no evidence against)."""
        with self._lock:
            return 1.0 - self._failure_rate()

    def available(self) -> bool:
        """Whether `allow()` would grant a call now, without taking the probe."""
        with self._lock:
            return self._grantable(self._clock())

    def allow(self) -> bool:
        """Whether a call may go to the rail now; in HALF_OPEN a True takes the single probe."""
        with self._lock:
            now = self._clock()
            if not self._grantable(now):
                return False
            if self._state_at(now) is BreakerState.HALF_OPEN:
                self._state = BreakerState.HALF_OPEN
                self._probe_started_at = now
            return True

    def record(self, success: bool) -> None:
        """Records the outcome of a call to the rail."""
        with self._lock:
            now = self._clock()
            if self._state is BreakerState.HALF_OPEN and self._probe_started_at is not None:
                self._probe_started_at = None
                if success:
                    self._state = BreakerState.CLOSED
                    self._opened_at = None
                    self._outcomes.clear()
                else:
                    self._outcomes.append(False)
                    self._open(now)
                return
            self._outcomes.append(success)
            if self._state is BreakerState.CLOSED and self._tripped():
                self._open(now)

    def _state_at(self, now: datetime) -> BreakerState:
        if self._state is BreakerState.OPEN:
            assert self._opened_at is not None
            if now >= self._opened_at + self._cooldown:
                return BreakerState.HALF_OPEN
        return self._state

    def _grantable(self, now: datetime) -> bool:
        state = self._state_at(now)
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.OPEN:
            return False
        probe_lost = (
            self._probe_started_at is None or now >= self._probe_started_at + self._cooldown
        )
        return probe_lost

    def _failure_rate(self) -> float:
        if not self._outcomes:
            return 0.0
        return self._outcomes.count(False) / len(self._outcomes)

    def _tripped(self) -> bool:
        enough = len(self._outcomes) >= self._min_outcomes
        return enough and self._failure_rate() > self._failure_threshold

    def _open(self, now: datetime) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = now
