"""The channel's facts observed on chain: opened, deposits, closed, settled (with the payouts)
and the closer's proof updated during the challenge. Each event carries the (transaction hash,
log index) of its log; that a log is recorded once is the application's check, against its index
of observed logs (`application.channel_log_index`), not state kept here: the set of every log
ever seen would grow the channel's snapshots for good (issue 14).

A part of `domain.channel.Channel`, mixed into it. It is a plain class, not an Aggregate, and its
events apply themselves (no `@event`): the aggregate redefines every event class of its direct
bases as its own, so these keep their stored topics (`domain.channel:Channel.Opened`) and fields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from eventsourcing.domain import Aggregate

from domain.address import Address
from domain.channel_state import ChannelState
from domain.errors import DepositDecreased, IllegalTransition, InvalidBalanceProof
from domain.money import check_amount

if TYPE_CHECKING:
    from domain.channel import Channel

    _Base = Aggregate
else:
    _Base = object


class ChainFacts(_Base):
    """Facts the chain reports about the channel, and the state they move it to."""

    if TYPE_CHECKING:  # state Channel.__init__ sets, and its shared helper; for mypy only
        state: ChannelState
        onchain_id: int | None
        our_address: str
        partner_address: str
        our_deposit: int
        partner_deposit: int

        def _require(self, state: ChannelState, command: str) -> None: ...

    class Opened(Aggregate.Event):
        onchain_id: int
        tx_hash: str
        log_index: int

        def apply(self, channel: Channel) -> None:
            channel.state = ChannelState.OPENED
            channel.onchain_id = self.onchain_id

    def observe_opened(self, onchain_id: int, tx_hash: str, log_index: int) -> None:
        self._require(ChannelState.OPEN_REQUESTED, "observe an open")
        self.trigger_event(self.Opened, onchain_id=onchain_id, tx_hash=tx_hash, log_index=log_index)

    class DepositObserved(Aggregate.Event):
        participant: str
        total_deposit: int
        tx_hash: str
        log_index: int

        def apply(self, channel: Channel) -> None:
            if Address(self.participant) == Address(channel.our_address):
                channel.our_deposit = self.total_deposit
            else:
                channel.partner_deposit = self.total_deposit

    def observe_deposit(
        self, participant: str, total_deposit: int, tx_hash: str, log_index: int
    ) -> None:
        self._require(ChannelState.OPENED, "observe a deposit")
        who = Address(participant, "participant")
        ours = who == Address(self.our_address)
        if not ours and who != Address(self.partner_address):
            raise InvalidBalanceProof("participant", participant, "is not in this channel")
        current = self.our_deposit if ours else self.partner_deposit
        if check_amount("total_deposit", total_deposit, allow_zero=True) < current:
            raise DepositDecreased(participant, total_deposit, current)
        self.trigger_event(
            self.DepositObserved,
            participant=participant,
            total_deposit=total_deposit,
            tx_hash=tx_hash,
            log_index=log_index,
        )

    class Closed(Aggregate.Event):
        closing_participant: str
        tx_hash: str
        log_index: int

        def apply(self, channel: Channel) -> None:
            channel.state = ChannelState.CLOSED

    def observe_closed(self, closing_participant: str, tx_hash: str, log_index: int) -> None:
        self._require(ChannelState.OPENED, "observe a close")
        self.trigger_event(
            self.Closed,
            closing_participant=closing_participant,
            tx_hash=tx_hash,
            log_index=log_index,
        )

    class Settled(Aggregate.Event):
        our_amount: int
        partner_amount: int
        tx_hash: str
        log_index: int

        def apply(self, channel: Channel) -> None:
            channel.state = ChannelState.SETTLED

    def observe_settled(
        self, our_amount: int, partner_amount: int, tx_hash: str, log_index: int
    ) -> None:
        if self.state not in (ChannelState.OPENED, ChannelState.CLOSED):
            raise IllegalTransition("Channel", self.id, self.state.value, "observe a settlement")
        self.trigger_event(
            self.Settled,
            our_amount=our_amount,
            partner_amount=partner_amount,
            tx_hash=tx_hash,
            log_index=log_index,
        )

    def observe_payout(
        self,
        participant1: str,
        participant1_amount: int,
        participant2_amount: int,
        tx_hash: str,
        log_index: int,
    ) -> None:
        """The chain's ChannelSettled, which lists the payouts in the contract's order."""
        first_is_us = Address(participant1, "participant1") == Address(self.our_address)
        ours, theirs = (participant1_amount, participant2_amount)
        if not first_is_us:
            ours, theirs = theirs, ours
        self.observe_settled(ours, theirs, tx_hash, log_index)

    class CloserProofUpdated(Aggregate.Event):
        closing_participant: str
        nonce: int
        transferred_amount: int
        tx_hash: str
        log_index: int

        def apply(self, channel: Channel) -> None:
            """Nothing to change: the log is recorded in the index, with the event."""

    def observe_closer_proof_updated(
        self,
        closing_participant: str,
        nonce: int,
        transferred_amount: int,
        tx_hash: str,
        log_index: int,
    ) -> None:
        """The non-closing side put the closer's newer proof on chain during the challenge."""
        if self.state not in (ChannelState.CLOSED, ChannelState.SETTLED):
            # Settled first is possible: our settle's receipt is recorded before the watcher
            # reaches the update's log.
            raise IllegalTransition("Channel", self.id, self.state.value, "observe an update")
        self.trigger_event(
            self.CloserProofUpdated,
            closing_participant=closing_participant,
            nonce=nonce,
            transferred_amount=transferred_amount,
            tx_hash=tx_hash,
            log_index=log_index,
        )
