"""The chain transactions we send for a channel: recorded signed, before broadcast, so a restart
re-sends the same bytes; then confirmed (succeeded or not) or dropped when another transaction
took its nonce. Also which are still unconfirmed and which one is live for a purpose.

A part of `domain.channel.Channel`, mixed into it. It is a plain class, not an Aggregate, and its
events apply themselves (no `@event`): the aggregate redefines every event class of its direct
bases as its own, so these keep their stored topics (`domain.channel:Channel.TransactionSigned`)
and fields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

from domain.channel_state import ChannelState
from domain.errors import IllegalTransition, InvalidBalanceProof

if TYPE_CHECKING:
    from domain.channel import Channel

    _Base = Aggregate
else:
    _Base = object


class ChainTransactions(_Base):
    """The channel's own transactions, by hash, in the order they were signed."""

    if TYPE_CHECKING:  # state Channel.__init__ sets; for mypy only
        state: ChannelState
        # tx hash -> {purpose, raw_transaction, sender, nonce, confirmed, succeeded[, dropped]}
        transactions: dict[str, dict[str, Any]]

    class TransactionSigned(Aggregate.Event):
        purpose: str
        tx_hash: str
        raw_transaction: str
        sender: str
        nonce: int

        def apply(self, channel: Channel) -> None:
            channel.transactions[self.tx_hash] = {
                "purpose": self.purpose,
                "raw_transaction": self.raw_transaction,
                "sender": self.sender,
                "nonce": self.nonce,
                "confirmed": False,
                "succeeded": None,
            }

    def record_transaction(
        self, purpose: str, tx_hash: str, raw_transaction: str, sender: str, nonce: int
    ) -> None:
        if tx_hash in self.transactions:
            return
        if self.state in (ChannelState.SETTLED, ChannelState.FAILED):
            raise IllegalTransition("Channel", self.id, self.state.value, f"send {purpose}")
        self.trigger_event(
            self.TransactionSigned,
            purpose=purpose,
            tx_hash=tx_hash,
            raw_transaction=raw_transaction,
            sender=sender,
            nonce=nonce,
        )

    class TransactionConfirmed(Aggregate.Event):
        tx_hash: str
        block_number: int
        succeeded: bool

        def apply(self, channel: Channel) -> None:
            channel.transactions[self.tx_hash]["confirmed"] = True
            channel.transactions[self.tx_hash]["succeeded"] = self.succeeded

    def confirm_transaction(self, tx_hash: str, block_number: int, succeeded: bool) -> bool:
        tx = self.transactions.get(tx_hash)
        if tx is None:
            raise InvalidBalanceProof("tx_hash", tx_hash, "was never recorded for this channel")
        if tx["confirmed"]:
            return False
        self.trigger_event(
            self.TransactionConfirmed,
            tx_hash=tx_hash,
            block_number=block_number,
            succeeded=succeeded,
        )
        return True

    class TransactionDropped(Aggregate.Event):
        tx_hash: str
        reason: str

        def apply(self, channel: Channel) -> None:
            channel.transactions[self.tx_hash]["dropped"] = True
            channel.transactions[self.tx_hash]["succeeded"] = False

    def drop_transaction(self, tx_hash: str, reason: str) -> bool:
        """Another transaction took this one's nonce: it can never be mined, and is not sent
        again; what it was for is done by a new transaction."""
        tx = self.transactions.get(tx_hash)
        if tx is None:
            raise InvalidBalanceProof("tx_hash", tx_hash, "was never recorded for this channel")
        if tx["confirmed"] or tx.get("dropped"):
            return False
        self.trigger_event(self.TransactionDropped, tx_hash=tx_hash, reason=reason)
        return True

    def unconfirmed_transactions(self) -> list[tuple[str, dict[str, Any]]]:
        """Recorded transactions still to be broadcast and confirmed (not dropped)."""
        return [
            (h, tx)
            for h, tx in self.transactions.items()
            if not tx["confirmed"] and not tx.get("dropped")
        ]

    def live_transaction(self, purpose: str) -> tuple[str, dict[str, Any]] | None:
        """The latest recorded transaction for `purpose` that has not failed or been dropped."""
        live = [
            (h, tx)
            for h, tx in self.transactions.items()
            if tx["purpose"] == purpose and tx["succeeded"] is not False
        ]
        return live[-1] if live else None
