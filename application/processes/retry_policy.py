"""When to try a failed settlement step again: exponential backoff with jitter, capped, for as
long as the retry budget lasts (by default a day, so that a peer or RPC outage of hours never
dead-letters a settlement); non-retryable failures never come here."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from application.settings import SettlementPolicySettings


@dataclass(frozen=True)
class RetryPolicy:
    initial_backoff: timedelta = timedelta(seconds=5)
    max_backoff: timedelta = timedelta(minutes=5)
    retry_for: timedelta = timedelta(days=1)
    """How long after its request a settlement keeps being retried."""
    max_attempts: int | None = None
    """An optional cap on attempts as well (tests, or a deployment that prefers to give up)."""

    @classmethod
    def from_settings(cls, settings: SettlementPolicySettings) -> RetryPolicy:
        return cls(
            initial_backoff=timedelta(milliseconds=settings.initial_backoff_ms),
            max_backoff=timedelta(milliseconds=settings.max_backoff_ms),
            retry_for=timedelta(seconds=settings.retry_for_seconds),
            max_attempts=settings.max_attempts,
        )

    def gives_up(self, attempts_made: int, retried_for: timedelta, *, patient: bool) -> bool:
        """Whether `attempts_made` attempts over `retried_for` exhaust the budget. A peer that
        asked us to come back later (`patient`) is waited for the whole time, past any cap."""
        capped = self.max_attempts is not None and attempts_made >= self.max_attempts
        return (capped and not patient) or retried_for >= self.retry_for

    def delay(self, attempt: int, rng: random.Random) -> timedelta:
        """Backoff before attempt `attempt + 1`: doubling from the initial delay, capped, jittered
        to between half and all of it so that many failing settlements do not retry in step."""
        doublings = min(max(attempt - 1, 0), 64)  # in microseconds: no timedelta overflow
        initial_us = self.initial_backoff // timedelta(microseconds=1)
        base_us = min(initial_us << doublings, self.max_backoff // timedelta(microseconds=1))
        return timedelta(microseconds=base_us * rng.uniform(0.5, 1.0))
