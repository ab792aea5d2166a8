"""Use cases on channels: each loads the channel, runs one command, saves what it recorded.

Facts seen on chain are recorded once per (transaction hash, log index), so the chain watcher
and the receipt of our own transaction may both report one and it counts once; the transactions
we send are recorded signed before they are broadcast.
"""

from __future__ import annotations

from uuid import UUID

from application.chain_ports import SignedChainTransaction
from application.store import AggregateStore
from domain.channel import Channel


class ChannelCommands(AggregateStore):
    def channel(self, channel_id: UUID) -> Channel:
        return self.load(channel_id, Channel)

    # Facts observed on chain; each returns whether it was new.

    def record_channel_opened(
        self, channel_id: UUID, onchain_id: int, tx_hash: str, log_index: int
    ) -> bool:
        return self._change(
            channel_id, Channel, lambda c: c.observe_opened(onchain_id, tx_hash, log_index)
        )

    def record_deposit(
        self, channel_id: UUID, participant: str, total_deposit: int, tx_hash: str, log_index: int
    ) -> bool:
        return self._change(
            channel_id,
            Channel,
            lambda c: c.observe_deposit(participant, total_deposit, tx_hash, log_index),
        )

    def record_channel_closed(
        self, channel_id: UUID, closing_participant: str, tx_hash: str, log_index: int
    ) -> bool:
        return self._change(
            channel_id,
            Channel,
            lambda c: c.observe_closed(closing_participant, tx_hash, log_index),
        )

    def record_closer_proof_updated(
        self,
        channel_id: UUID,
        closing_participant: str,
        nonce: int,
        transferred_amount: int,
        tx_hash: str,
        log_index: int,
    ) -> bool:
        return self._change(
            channel_id,
            Channel,
            lambda c: c.observe_closer_proof_updated(
                closing_participant, nonce, transferred_amount, tx_hash, log_index
            ),
        )

    def record_channel_payout(
        self,
        channel_id: UUID,
        participant1: str,
        participant1_amount: int,
        participant2_amount: int,
        tx_hash: str,
        log_index: int,
    ) -> bool:
        return self._change(
            channel_id,
            Channel,
            lambda c: c.observe_payout(
                participant1, participant1_amount, participant2_amount, tx_hash, log_index
            ),
        )

    # Our transactions: recorded before broadcast, then confirmed or dropped.

    def record_transaction_signed(
        self, channel_id: UUID, purpose: str, signed: SignedChainTransaction
    ) -> None:
        """Records a signed transaction for `purpose` (what it is for on this channel, such as
        `deposit:500`), before it is broadcast."""
        raw = "0x" + signed.raw_transaction.hex()
        self._change(
            channel_id,
            Channel,
            lambda c: c.record_transaction(
                purpose, signed.tx_hash, raw, str(signed.sender), signed.nonce
            ),
        )

    def record_transaction_confirmed(
        self, channel_id: UUID, tx_hash: str, block_number: int, succeeded: bool
    ) -> bool:
        return self._change(
            channel_id,
            Channel,
            lambda c: c.confirm_transaction(tx_hash, block_number, succeeded),
        )

    def record_transaction_dropped(self, channel_id: UUID, tx_hash: str, reason: str) -> bool:
        return self._change(channel_id, Channel, lambda c: c.drop_transaction(tx_hash, reason))

    # Our decisions about a channel.

    def abandon_channel(self, channel_id: UUID, reason: str) -> None:
        self._change(channel_id, Channel, lambda c: c.abandon(reason))

    def fail_channel_open(self, channel_id: UUID, reason: str) -> None:
        self._change(channel_id, Channel, lambda c: c.fail_open(reason))
