"""Settlement: one payment of an amount to a peer, and the history of how it went.

Requested -> ChannelReady -> ProofSigned -> Delivered -> Applied -> Completed, with
AttemptFailed along the way and the terminal Failed, TimedOut and DeadLettered. Every
transition carries the time `at` from the caller's injected clock, and its details. Once a
proof is signed its value is promised to the peer: only completion, or a dead letter that keeps
the amount in flight, can end the settlement then.

The steps forward are in `domain.settlement_progress`, the failures in
`domain.settlement_failures`. Their events are Settlement's: the library redefines the events of
a direct base class on the aggregate, so they are stored as `domain.settlement:Settlement.<Name>`,
as they were before the split.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic

from domain.errors import IllegalTransition, InvalidField
from domain.ids import derive_id
from domain.money import check_amount
from domain.settlement_failures import SettlementFailures
from domain.settlement_progress import SettlementProgress
from domain.settlement_status import NEXT_STEP, TERMINAL, SettlementStatus

__all__ = ["TERMINAL", "Settlement", "SettlementStatus"]


# The parts come first and Aggregate last; the parts are plain classes (not aggregates) whose
# events have their own `apply`, so that the events keep Settlement's topics.
class Settlement(SettlementProgress, SettlementFailures, Aggregate):
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

    @property
    def has_signed_proof(self) -> bool:
        """A signed proof is out: its value must never be released back to payable."""
        return self.signature is not None

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
