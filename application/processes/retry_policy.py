"""When to try a failed settlement step again: exponential backoff with jitter, then give up."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from application.settings import SettlementPolicySettings


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    initial_backoff: timedelta = timedelta(milliseconds=100)
    max_backoff: timedelta = timedelta(seconds=5)
    patience: timedelta = timedelta(minutes=5)
    """How long a peer that answers "retry later" is waited for, beyond the attempts."""

    @classmethod
    def from_settings(cls, settings: SettlementPolicySettings) -> RetryPolicy:
        return cls(
            max_attempts=settings.max_attempts,
            initial_backoff=timedelta(milliseconds=settings.initial_backoff_ms),
            max_backoff=timedelta(milliseconds=settings.max_backoff_ms),
            patience=timedelta(seconds=settings.stuck_after_seconds),
        )

    def exhausted(self, attempts_made: int) -> bool:
        return attempts_made >= self.max_attempts

    def delay(self, attempt: int, rng: random.Random) -> timedelta:
        """Backoff before attempt `attempt + 1`: doubling from the initial delay, capped, jittered
        to between half and all of it so that many failing settlements do not retry in step."""
        base = min(self.initial_backoff * (2 ** max(attempt - 1, 0)), self.max_backoff)
        jittered: timedelta = base * rng.uniform(0.5, 1.0)
        return jittered
