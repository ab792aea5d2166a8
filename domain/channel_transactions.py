"""The chain transactions we send for a channel: recorded signed, before broadcast, so a restart
re-sends the same bytes; then confirmed (succeeded or not) or dropped when another transaction
took its nonce. Also which are still unconfirmed and which one is live for a purpose.

Only the transactions not yet final (neither confirmed nor dropped) stay in the state: a final
one leaves it with the event that makes it final, so the channel's snapshots do not grow with
every deposit ever made (issue 14). The history of every transaction, final ones included, is
the application's index (`application.channel_transaction_index`), written with the events:
the application asks it whether a hash is known, and for the succeeded transaction of a purpose.

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
        # tx hash -> {purpose, raw_transaction, sender, nonce, confirmed, succeeded}, not final
        transactions: dict[str, dict[str, Any]]
        transactions_signed: int

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
            channel.transactions_signed += 1

    def record_transaction(
        self, purpose: str, tx_hash: str, raw_transaction: str, sender: str, nonce: int
    ) -> None:
        """Records a signed transaction; a pending one again changes nothing (whether a final
        one is known is the application's question, of its index)."""
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
            channel.transactions.pop(self.tx_hash, None)  # final: the index keeps it

    def confirm_transaction(self, tx_hash: str, block_number: int, succeeded: bool) -> None:
        """Confirms a pending transaction (the application answers for a final one)."""
        self._require_pending(tx_hash)
        self.trigger_event(
            self.TransactionConfirmed,
            tx_hash=tx_hash,
            block_number=block_number,
            succeeded=succeeded,
        )

    class TransactionDropped(Aggregate.Event):
        tx_hash: str
        reason: str

        def apply(self, channel: Channel) -> None:
            channel.transactions.pop(self.tx_hash, None)  # final: the index keeps it

    def drop_transaction(self, tx_hash: str, reason: str) -> None:
        """Another transaction took this one's nonce: it can never be mined, and is not sent
        again; what it was for is done by a new transaction."""
        self._require_pending(tx_hash)
        self.trigger_event(self.TransactionDropped, tx_hash=tx_hash, reason=reason)

    def is_pending(self, tx_hash: str) -> bool:
        return tx_hash in self.transactions

    def _require_pending(self, tx_hash: str) -> None:
        if tx_hash not in self.transactions:
            raise InvalidBalanceProof("tx_hash", tx_hash, "is not a pending transaction")

    def unconfirmed_transactions(self) -> list[tuple[str, dict[str, Any]]]:
        """Recorded transactions still to be broadcast and confirmed (not dropped)."""
        return list(self.transactions.items())

    def pending_transaction(self, purpose: str) -> tuple[str, dict[str, Any]] | None:
        """The latest pending transaction for `purpose` (a succeeded one is final: the
        application's `live_transaction` asks its index for that)."""
        live = [(h, tx) for h, tx in self.transactions.items() if tx["purpose"] == purpose]
        return live[-1] if live else None
