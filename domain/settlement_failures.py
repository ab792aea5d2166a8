"""When a settlement goes wrong: failed attempts, and the terminal Failed, TimedOut and
DeadLettered, with an operator's resolution of a dead letter.

Once a signed proof is out its value is the peer's: a settlement with a proof out cannot fail or
time out, and its dead letter can only be redelivered. `SettlementFailures` is a part of
`domain.settlement.Settlement`; its events are stored under Settlement's topics
(`domain.settlement:Settlement.AttemptFailed`, ...).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import IllegalTransition, InvalidField
from domain.settlement_status import SettlementStatus

if TYPE_CHECKING:
    from domain.settlement import Settlement

    _Base = Aggregate
else:
    # A plain class, so that Settlement redefines these events as its own (see Settlement).
    _Base = object


class SettlementFailures(_Base):
    """Failed attempts, the terminal failures and dead letters."""

    if TYPE_CHECKING:  # state and guards of Settlement; declared here for mypy only
        status: SettlementStatus
        updated_at: datetime
        attempts: int
        resolution: str | None

        def _require_active(self, command: str) -> None: ...

        def _require_no_proof_out(self, command: str) -> None: ...

    class AttemptFailed(Aggregate.Event):
        attempt: int
        error_class: str
        error: str
        retryable: bool
        next_attempt_at: datetime | None
        at: datetime

        def apply(self, settlement: Settlement) -> None:
            settlement.attempts = self.attempt
            settlement.last_error = f"{self.error_class}: {self.error}"
            settlement.next_attempt_at = self.next_attempt_at
            settlement.updated_at = self.at

    def attempt_failed(
        self,
        error_class: str,
        error: str,
        retryable: bool,
        next_attempt_at: datetime | None,
        at: datetime,
    ) -> None:
        self._require_active("record a failed attempt")
        if retryable and next_attempt_at is None:
            raise InvalidField("next_attempt_at", None, "a retryable failure needs a next attempt")
        self.trigger_event(
            self.AttemptFailed,
            attempt=self.attempts + 1,
            error_class=error_class,
            error=error,
            retryable=retryable,
            next_attempt_at=next_attempt_at,
            at=at,
        )

    class Failed(Aggregate.Event):
        reason: str
        error_class: str
        alert: bool
        at: datetime

        def apply(self, settlement: Settlement) -> None:
            settlement.status = SettlementStatus.FAILED
            settlement.last_error = self.reason
            settlement.updated_at = self.at

    def fail(
        self, reason: str, at: datetime, *, error_class: str = "", alert: bool = False
    ) -> None:
        self._require_active("fail")
        self._require_no_proof_out("fail")
        self.trigger_event(self.Failed, reason=reason, error_class=error_class, alert=alert, at=at)

    class TimedOut(Aggregate.Event):
        stuck_since: datetime
        at: datetime

        def apply(self, settlement: Settlement) -> None:
            settlement.status = SettlementStatus.TIMED_OUT
            settlement.updated_at = self.at

    def time_out(self, at: datetime) -> None:
        self._require_active("time out")
        self._require_no_proof_out("time out")
        self.trigger_event(self.TimedOut, stuck_since=self.updated_at, at=at)

    class DeadLettered(Aggregate.Event):
        reason: str
        at: datetime

        def apply(self, settlement: Settlement) -> None:
            settlement.status = SettlementStatus.DEAD_LETTERED
            settlement.last_error = self.reason
            settlement.updated_at = self.at

    def dead_letter(self, reason: str, at: datetime) -> None:
        self._require_active("dead-letter")
        self.trigger_event(self.DeadLettered, reason=reason, at=at)

    class DeadLetterResolved(Aggregate.Event):
        resolution: str
        new_settlement_id: UUID | None
        at: datetime

        def apply(self, settlement: Settlement) -> None:
            settlement.resolution = self.resolution
            settlement.updated_at = self.at

    def resolve_dead_letter(
        self, resolution: str, new_settlement_id: UUID | None, at: datetime
    ) -> None:
        """An operator's decision on a dead letter: "retried", "redelivered" or "discarded"."""
        if self.status != SettlementStatus.DEAD_LETTERED or self.resolution is not None:
            state = str(self.status) if self.resolution is None else f"resolved ({self.resolution})"
            raise IllegalTransition("Settlement", self.id, state, "resolve a dead letter")
        if resolution not in ("retried", "redelivered", "discarded"):
            raise InvalidField(
                "resolution", resolution, "must be retried, redelivered or discarded"
            )
        if resolution != "redelivered":  # a promised value is only ever delivered again
            self._require_no_proof_out(f"be {resolution}")
        self.trigger_event(
            self.DeadLetterResolved,
            resolution=resolution,
            new_settlement_id=new_settlement_id,
            at=at,
        )
