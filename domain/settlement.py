"""Settlement: one payment of an amount to a peer, and the history of how it went.

Requested -> ChannelReady -> ProofSigned -> Delivered -> Applied -> Completed, with
AttemptFailed along the way and the terminal Failed, TimedOut and DeadLettered. Every
transition carries the time `at` from the caller's injected clock, and its details. Once a
proof is signed its value is promised to the peer: only completion, or a dead letter that keeps
the amount in flight, can end the settlement then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic

from domain.errors import IllegalTransition, InvalidField
from domain.ids import derive_id
from domain.money import check_amount
from domain.settlement_status import NEXT_STEP, TERMINAL, SettlementStatus

__all__ = ["TERMINAL", "Settlement", "SettlementStatus"]


class Settlement(Aggregate):
    @staticmethod
    def create_id(settlement_key: str) -> UUID:
        return derive_id("settlement", settlement_key)

    class Requested(Aggregate.Created):
        settlement_key: str
        account_id: UUID
        peer_id: str
        asset_code: str
        amount: int
        at: datetime

    @event(Requested)
    def __init__(
        self,
        settlement_key: str,
        account_id: UUID,
        peer_id: str,
        asset_code: str,
        amount: int,
        at: datetime,
    ) -> None:
        self.settlement_key = settlement_key
        self.account_id = account_id
        self.peer_id = peer_id
        self.asset_code = asset_code
        self.amount = amount
        self.status = SettlementStatus.REQUESTED
        self.requested_at = at
        self.updated_at = at
        self.attempts = 0
        self.next_attempt_at: datetime | None = None
        self.last_error: str | None = None
        self.channel_id: UUID | None = None
        self.nonce: int | None = None
        self.transferred_amount: int | None = None
        self.tx_hash: str | None = None
        self.signature: str | None = None
        self.rail: str | None = None
        self.resolution: str | None = None

    @classmethod
    def request(
        cls,
        settlement_key: str,
        account_id: UUID,
        peer_id: str,
        asset_code: str,
        amount: int,
        at: datetime,
    ) -> Settlement:
        check_amount("amount", amount)
        if at.tzinfo is None:
            raise InvalidField("at", at, "must be timezone-aware")
        return cls(settlement_key, account_id, peer_id, asset_code, amount, at)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    # The happy path, one step at a time.
    class ChannelReady(Aggregate.Event):
        channel_id: UUID
        tx_hash: str | None
        at: datetime

    def channel_ready(self, channel_id: UUID, tx_hash: str | None, at: datetime) -> None:
        self._advance(SettlementStatus.CHANNEL_READY)
        self._channel_ready(channel_id=channel_id, tx_hash=tx_hash, at=at)

    @event(ChannelReady)
    def _channel_ready(self, channel_id: UUID, tx_hash: str | None, at: datetime) -> None:
        self.status = SettlementStatus.CHANNEL_READY
        self.channel_id = channel_id
        if tx_hash:
            self.tx_hash = tx_hash
        self.updated_at = at

    class ProofSigned(Aggregate.Event):
        nonce: int
        transferred_amount: int
        signature: str
        at: datetime

    def proof_signed(
        self, nonce: int, transferred_amount: int, signature: str, at: datetime
    ) -> None:
        self._advance(SettlementStatus.PROOF_SIGNED)
        self._proof_signed(nonce, transferred_amount, signature, at)

    @event(ProofSigned)
    def _proof_signed(
        self, nonce: int, transferred_amount: int, signature: str, at: datetime
    ) -> None:
        self.status = SettlementStatus.PROOF_SIGNED
        self.nonce = nonce
        self.transferred_amount = transferred_amount
        self.signature = signature
        self.updated_at = at

    @property
    def has_signed_proof(self) -> bool:
        """A signed proof is out: its value must never be released back to payable."""
        return self.signature is not None

    # Routing and channel changes
    class RailChosen(Aggregate.Event):
        rail: str
        decision: dict[str, Any]
        at: datetime

    def choose_rail(self, rail: str, decision: dict[str, Any], at: datetime) -> None:
        """Records a routing decision with its scores; only before a channel is ready."""
        self._require_active("choose a rail")
        if self.status != SettlementStatus.REQUESTED:
            raise IllegalTransition("Settlement", self.id, str(self.status), "choose a rail")
        self._rail_chosen(rail=rail, decision=decision, at=at)

    @event(RailChosen)
    def _rail_chosen(self, rail: str, decision: dict[str, Any], at: datetime) -> None:
        self.rail = rail
        self.updated_at = at

    class ChannelLost(Aggregate.Event):
        channel_id: UUID
        reason: str
        at: datetime

    def channel_lost(self, reason: str, at: datetime) -> None:
        """The channel closed or is disputed before delivery: start again from a new channel."""
        if self.status not in (SettlementStatus.CHANNEL_READY, SettlementStatus.PROOF_SIGNED):
            raise IllegalTransition("Settlement", self.id, str(self.status), "lose its channel")
        assert self.channel_id is not None
        self._channel_lost(channel_id=self.channel_id, reason=reason, at=at)

    @event(ChannelLost)
    def _channel_lost(self, channel_id: UUID, reason: str, at: datetime) -> None:
        self.status = SettlementStatus.REQUESTED
        self.channel_id = None
        self.nonce = None
        self.transferred_amount = None
        self.signature = None
        self.last_error = reason
        self.updated_at = at

    class Delivered(Aggregate.Event):
        receipt: str
        onchain_tx_hash: str | None
        at: datetime

    def delivered(self, receipt: str, at: datetime, onchain_tx_hash: str | None = None) -> None:
        """The peer acknowledged the claim; `onchain_tx_hash` when it was also settled on chain
        cooperatively."""
        self._advance(SettlementStatus.DELIVERED)
        self._delivered(receipt=receipt, onchain_tx_hash=onchain_tx_hash, at=at)

    @event(Delivered)
    def _delivered(self, receipt: str, onchain_tx_hash: str | None, at: datetime) -> None:
        self.status = SettlementStatus.DELIVERED
        if onchain_tx_hash:
            self.tx_hash = onchain_tx_hash
        self.updated_at = at

    class Applied(Aggregate.Event):
        """The amount is applied to the books: saved with the account's SettlementApplied."""

        at: datetime

    def applied(self, at: datetime) -> None:
        self._advance(SettlementStatus.APPLIED)
        self._applied(at=at)

    @event(Applied)
    def _applied(self, at: datetime) -> None:
        self.status = SettlementStatus.APPLIED
        self.updated_at = at

    class Completed(Aggregate.Event):
        at: datetime

    def complete(self, at: datetime) -> None:
        self._advance(SettlementStatus.COMPLETED)
        self._completed(at=at)

    @event(Completed)
    def _completed(self, at: datetime) -> None:
        self.status = SettlementStatus.COMPLETED
        self.updated_at = at

    # When things go wrong.
    class AttemptFailed(Aggregate.Event):
        attempt: int
        error_class: str
        error: str
        retryable: bool
        next_attempt_at: datetime | None
        at: datetime

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
        attempt = self.attempts + 1
        self._attempt_failed(attempt, error_class, error, retryable, next_attempt_at, at)

    @event(AttemptFailed)
    def _attempt_failed(
        self,
        attempt: int,
        error_class: str,
        error: str,
        retryable: bool,
        next_attempt_at: datetime | None,
        at: datetime,
    ) -> None:
        self.attempts = attempt
        self.last_error = f"{error_class}: {error}"
        self.next_attempt_at = next_attempt_at
        self.updated_at = at

    class Failed(Aggregate.Event):
        reason: str
        error_class: str
        alert: bool
        at: datetime

    def fail(
        self, reason: str, at: datetime, *, error_class: str = "", alert: bool = False
    ) -> None:
        self._require_active("fail")
        self._require_no_proof_out("fail")
        self._failed(reason=reason, error_class=error_class, alert=alert, at=at)

    @event(Failed)
    def _failed(self, reason: str, error_class: str, alert: bool, at: datetime) -> None:
        self.status = SettlementStatus.FAILED
        self.last_error = reason
        self.updated_at = at

    class TimedOut(Aggregate.Event):
        stuck_since: datetime
        at: datetime

    def time_out(self, at: datetime) -> None:
        self._require_active("time out")
        self._require_no_proof_out("time out")
        self._timed_out(stuck_since=self.updated_at, at=at)

    @event(TimedOut)
    def _timed_out(self, stuck_since: datetime, at: datetime) -> None:
        self.status = SettlementStatus.TIMED_OUT
        self.updated_at = at

    class DeadLettered(Aggregate.Event):
        reason: str
        at: datetime

    def dead_letter(self, reason: str, at: datetime) -> None:
        self._require_active("dead-letter")
        self._dead_lettered(reason=reason, at=at)

    @event(DeadLettered)
    def _dead_lettered(self, reason: str, at: datetime) -> None:
        self.status = SettlementStatus.DEAD_LETTERED
        self.last_error = reason
        self.updated_at = at

    class DeadLetterResolved(Aggregate.Event):
        resolution: str
        new_settlement_id: UUID | None
        at: datetime

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
        self._dead_letter_resolved(resolution, new_settlement_id, at)

    @event(DeadLetterResolved)
    def _dead_letter_resolved(
        self, resolution: str, new_settlement_id: UUID | None, at: datetime
    ) -> None:
        self.resolution = resolution
        self.updated_at = at

    def _advance(self, target: SettlementStatus) -> None:
        self._require_active(f"move to {target.value}")
        if NEXT_STEP.get(SettlementStatus(self.status)) != target:
            raise IllegalTransition(
                "Settlement", self.id, str(self.status), f"move to {target.value}"
            )

    def _require_active(self, command: str) -> None:
        if self.is_terminal:
            raise IllegalTransition("Settlement", self.id, str(self.status), command)

    def _require_no_proof_out(self, command: str) -> None:
        """A signed proof's value is the peer's: giving up on it would let it be paid twice."""
        if self.has_signed_proof:
            raise IllegalTransition(
                "Settlement", self.id, f"{self.status} with a signed proof out", command
            )


# Histories recorded before the rename name the event by its old class; it means the same.
register_topic("domain.settlement:Settlement.LedgerPosted", Settlement.Applied)
