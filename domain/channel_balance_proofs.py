"""The channel's balance proofs: the ones we sign (nonce up, cumulative amount never down, never
past our deposit) and the partner's we accept; a stale or lower partner proof is recorded as a
suspected double spend while the latest accepted one stands.

A part of `domain.channel.Channel`, mixed into it. It is a plain class, not an Aggregate, and its
events apply themselves (no `@event`): the aggregate redefines every event class of its direct
bases as its own, so these keep their stored topics (`domain.channel:Channel.BalanceProofSigned`)
and fields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from eventsourcing.domain import Aggregate

from domain.channel_state import ChannelState, ProofVerdict
from domain.errors import InvalidBalanceProof
from domain.money import check_amount

if TYPE_CHECKING:
    from domain.channel import Channel

    _Base = Aggregate
else:
    _Base = object


class BalanceProofs(_Base):
    """Our signed balance proofs and the partner's, checked against the deposits."""

    if TYPE_CHECKING:  # state Channel.__init__ sets, and its shared helper; for mypy only
        our_deposit: int
        partner_deposit: int
        our_nonce: int
        our_transferred: int
        our_signature: str
        partner_nonce: int
        partner_transferred: int
        partner_signature: str

        def _require(self, state: ChannelState, command: str) -> None: ...

    # Our balance proofs

    def next_proof(self, amount: int) -> tuple[int, int]:
        """The nonce and cumulative transferred amount of a proof that pays `amount` more."""
        check_amount("amount", amount)
        return self.our_nonce + 1, self.our_transferred + amount

    def check_our_proof(self, nonce: int, transferred_amount: int) -> None:
        self._require(ChannelState.OPENED, "sign a balance proof")
        if nonce <= self.our_nonce:
            raise InvalidBalanceProof(
                "nonce", nonce, f"must exceed the last nonce {self.our_nonce}"
            )
        if transferred_amount < self.our_transferred:
            raise InvalidBalanceProof(
                "transferred_amount",
                transferred_amount,
                f"is below the cumulative {self.our_transferred} already signed",
            )
        if transferred_amount > self.our_deposit:
            raise InvalidBalanceProof(
                "transferred_amount",
                transferred_amount,
                f"exceeds our total deposit {self.our_deposit}",
            )

    class BalanceProofSigned(Aggregate.Event):
        nonce: int
        transferred_amount: int
        locked_amount: int
        locks_root: str
        signature: str

        def apply(self, channel: Channel) -> None:
            channel.our_nonce = self.nonce
            channel.our_transferred = self.transferred_amount
            channel.our_signature = self.signature

    def record_our_proof(
        self,
        nonce: int,
        transferred_amount: int,
        locked_amount: int,
        locks_root: str,
        signature: str,
    ) -> None:
        self.check_our_proof(nonce, transferred_amount)
        self.trigger_event(
            self.BalanceProofSigned,
            nonce=nonce,
            transferred_amount=transferred_amount,
            locked_amount=locked_amount,
            locks_root=locks_root,
            signature=signature,
        )

    # The partner's balance proofs

    class PartnerBalanceProofAccepted(Aggregate.Event):
        nonce: int
        transferred_amount: int
        signature: str

        def apply(self, channel: Channel) -> None:
            channel.partner_nonce = self.nonce
            channel.partner_transferred = self.transferred_amount
            channel.partner_signature = self.signature

    class SuspectedDoubleSpend(Aggregate.Event):
        nonce: int
        transferred_amount: int
        signature: str
        latest_nonce: int
        latest_transferred_amount: int

        def apply(self, channel: Channel) -> None:
            pass  # the fact is the record; the latest accepted proof stands

    def receive_partner_proof(
        self, nonce: int, transferred_amount: int, signature: str
    ) -> ProofVerdict:
        """Accepts a newer proof; a stale or lower one is recorded as a suspected double spend."""
        self._require(ChannelState.OPENED, "accept a balance proof")
        if (nonce, transferred_amount, signature) == (
            self.partner_nonce,
            self.partner_transferred,
            self.partner_signature,
        ):
            return ProofVerdict.DUPLICATE
        if transferred_amount > self.partner_deposit:
            raise InvalidBalanceProof(
                "transferred_amount",
                transferred_amount,
                f"exceeds the partner's total deposit {self.partner_deposit}",
            )
        if nonce <= self.partner_nonce or transferred_amount < self.partner_transferred:
            self.trigger_event(
                self.SuspectedDoubleSpend,
                nonce=nonce,
                transferred_amount=transferred_amount,
                signature=signature,
                latest_nonce=self.partner_nonce,
                latest_transferred_amount=self.partner_transferred,
            )
            return ProofVerdict.STALE
        self.trigger_event(
            self.PartnerBalanceProofAccepted,
            nonce=nonce,
            transferred_amount=transferred_amount,
            signature=signature,
        )
        return ProofVerdict.ACCEPTED
