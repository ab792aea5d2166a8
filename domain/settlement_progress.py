"""How a settlement moves forward: a rail chosen, a channel ready (or lost), a proof signed,
delivered, applied to the books and completed, one step at a time.

`SettlementProgress` is a part of `domain.settlement.Settlement`; its events are stored under
Settlement's topics (`domain.settlement:Settlement.ChannelReady`, ...).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import IllegalTransition
from domain.settlement_status import SettlementStatus

if TYPE_CHECKING:
    from domain.settlement import Settlement

    _Base = Aggregate
else:
    # A plain class, so that Settlement redefines these events as its own (see Settlement).
    _Base = object


class SettlementProgress(_Base):
    """The happy path, and the routing and channel changes before delivery."""

    if TYPE_CHECKING:  # state and guards of Settlement; declared here for mypy only
        status: SettlementStatus
        updated_at: datetime
        channel_id: UUID | None

        def _advance(self, target: SettlementStatus) -> None: ...

        def _require_active(self, command: str) -> None: ...

    # The happy path, one step at a time.
    class ChannelReady(Aggregate.Event):
        channel_id: UUID
        tx_hash: str | None
        at: datetime

        def apply(self, settlement: Settlement) -> None:
            settlement.status = SettlementStatus.CHANNEL_READY
            settlement.channel_id = self.channel_id
            if self.tx_hash:
                settlement.tx_hash = self.tx_hash
            settlement.updated_at = self.at

    def channel_ready(self, channel_id: UUID, tx_hash: str | None, at: datetime) -> None:
        self._advance(SettlementStatus.CHANNEL_READY)
        self.trigger_event(self.ChannelReady, channel_id=channel_id, tx_hash=tx_hash, at=at)

    class ProofSigned(Aggregate.Event):
        nonce: int
        transferred_amount: int
        signature: str
        at: datetime

        def apply(self, settlement: Settlement) -> None:
            settlement.status = SettlementStatus.PROOF_SIGNED
            settlement.nonce = self.nonce
            settlement.transferred_amount = self.transferred_amount
            settlement.signature = self.signature
            settlement.updated_at = self.at

    def proof_signed(
        self, nonce: int, transferred_amount: int, signature: str, at: datetime
    ) -> None:
        self._advance(SettlementStatus.PROOF_SIGNED)
        self.trigger_event(
            self.ProofSigned,
            nonce=nonce,
            transferred_amount=transferred_amount,
            signature=signature,
            at=at,
        )

    # Routing and channel changes
    class RailChosen(Aggregate.Event):
        rail: str
        decision: dict[str, Any]
        at: datetime

        def apply(self, settlement: Settlement) -> None:
            settlement.rail = self.rail
            settlement.updated_at = self.at

    def choose_rail(self, rail: str, decision: dict[str, Any], at: datetime) -> None:
        """Records a routing decision with its scores; only before a channel is ready."""
        self._require_active("choose a rail")
        if self.status != SettlementStatus.REQUESTED:
            raise IllegalTransition("Settlement", self.id, str(self.status), "choose a rail")
        self.trigger_event(self.RailChosen, rail=rail, decision=decision, at=at)

    class ChannelLost(Aggregate.Event):
        channel_id: UUID
        reason: str
        at: datetime

        def apply(self, settlement: Settlement) -> None:
            settlement.status = SettlementStatus.REQUESTED
            settlement.channel_id = None
            settlement.nonce = None
            settlement.transferred_amount = None
            settlement.signature = None
            settlement.last_error = self.reason
            settlement.updated_at = self.at

    def channel_lost(self, reason: str, at: datetime) -> None:
        """The channel closed or is disputed before delivery: start again from a new channel."""
        if self.status not in (SettlementStatus.CHANNEL_READY, SettlementStatus.PROOF_SIGNED):
            raise IllegalTransition("Settlement", self.id, str(self.status), "lose its channel")
        assert self.channel_id is not None
        self.trigger_event(self.ChannelLost, channel_id=self.channel_id, reason=reason, at=at)

    class Delivered(Aggregate.Event):
        receipt: str
        onchain_tx_hash: str | None
        at: datetime

        def apply(self, settlement: Settlement) -> None:
            settlement.status = SettlementStatus.DELIVERED
            if self.onchain_tx_hash:
                settlement.tx_hash = self.onchain_tx_hash
            settlement.updated_at = self.at

    def delivered(self, receipt: str, at: datetime, onchain_tx_hash: str | None = None) -> None:
        """The peer acknowledged the claim; `onchain_tx_hash` when it was also settled on chain
        cooperatively."""
        self._advance(SettlementStatus.DELIVERED)
        self.trigger_event(self.Delivered, receipt=receipt, onchain_tx_hash=onchain_tx_hash, at=at)

    class Applied(Aggregate.Event):
        """The amount is applied to the books: saved with the account's SettlementApplied."""

        at: datetime

        def apply(self, settlement: Settlement) -> None:
            settlement.status = SettlementStatus.APPLIED
            settlement.updated_at = self.at

    def applied(self, at: datetime) -> None:
        self._advance(SettlementStatus.APPLIED)
        self.trigger_event(self.Applied, at=at)

    class Completed(Aggregate.Event):
        at: datetime

        def apply(self, settlement: Settlement) -> None:
            settlement.status = SettlementStatus.COMPLETED
            settlement.updated_at = self.at

    def complete(self, at: datetime) -> None:
        self._advance(SettlementStatus.COMPLETED)
        self.trigger_event(self.Completed, at=at)
