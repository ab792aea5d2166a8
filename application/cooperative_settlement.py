"""Cooperative settlement: both sides sign the final balances; one transaction ends the channel.

The terms are computed from the channel's recorded deposits and the cumulative transfers (a
pure domain function), in the contract's participant order; the transaction goes through
`send_or_resume`, and what the chain paid is recorded from its ChannelSettled log.
"""

from __future__ import annotations

from uuid import UUID

from application.app import SettlementApp
from application.chain_ports import Receipt
from application.chain_transactions import ChainTransactions
from application.rails.registry import RailRegistry
from domain.address import Address
from domain.channel import Channel
from domain.final_balances import CooperativeSettlement, final_balances


class CooperativeSettling:
    def __init__(
        self, app: SettlementApp, rails: RailRegistry, transactions: ChainTransactions
    ) -> None:
        self.app = app
        self.rails = rails
        self.transactions = transactions

    def terms(
        self, channel: Channel, our_transferred: int, partner_transferred: int
    ) -> CooperativeSettlement:
        """The final balances with these cumulative transfers, in the contract's order."""
        assert channel.onchain_id is not None
        onchain = self.rails.of_channel(channel).network.channel(channel.onchain_id)
        return final_balances(
            channel.onchain_id,
            onchain.participant1,
            onchain.participant2,
            channel.our_address,
            (channel.our_deposit, channel.partner_deposit),
            (our_transferred, partner_transferred),
        )

    def sign(self, channel: Channel, settlement: CooperativeSettlement) -> str:
        network = self.rails.of_channel(channel).network
        return "0x" + network.sign_cooperative_settlement(settlement).hex()

    def verify(self, channel: Channel, settlement: CooperativeSettlement, signature: str) -> None:
        """Raises InvalidProofSignature unless the partner signed these terms."""
        self.rails.of_channel(channel).network.verify_cooperative_settlement(
            settlement, _bytes(signature), channel.partner_address
        )

    def settle(
        self, channel_id: UUID, settlement: CooperativeSettlement, ours: str, theirs: str
    ) -> str:
        """Submits cooperativeSettle (recorded before broadcast) and records the payout."""
        channel = self.app.channel(channel_id)
        rail = self.rails.of_channel(channel)
        first_is_us = Address(settlement.participant1) == Address(channel.our_address)
        one, two = (ours, theirs) if first_is_us else (theirs, ours)
        receipt = self.transactions.send_or_resume(
            channel_id,
            rail,
            "cooperative_settle",
            lambda: rail.network.prepare_cooperative_settle(settlement, _bytes(one), _bytes(two)),
        )
        record_payout(self.app, channel_id, receipt)
        return receipt.tx_hash


def record_payout(app: SettlementApp, channel_id: UUID, receipt: Receipt) -> None:
    """Records what the chain paid each side, from a settle transaction's ChannelSettled log
    (under its log key, so the chain watcher seeing it too changes nothing)."""
    settled = receipt.first("ChannelSettled")
    app.record_channel_payout(
        channel_id,
        str(settled.fields["participant1"]),
        int(settled.fields["participant1Amount"]),
        int(settled.fields["participant2Amount"]),
        settled.tx_hash,
        settled.log_index,
    )


def _bytes(signature: str) -> bytes:
    return bytes.fromhex(signature.removeprefix("0x"))
