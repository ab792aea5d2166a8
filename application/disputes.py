"""Disputes: answering a partner's unilateral close, closing ourselves, settling after the
challenge period, and recording what the chain paid.

A channel closed on chain is never paid on again (the Channel refuses new proofs once closed;
before we close it ourselves we abandon it first). When the partner closes, the contract holds
only the proof of ours the partner submitted; the partner's own transfers to us count only if
we put its latest proof on chain (updateNonClosingBalanceProof) before the challenge period
ends. The decision is made from state — the proof we hold against the partner's record on chain
— on every pass, so a pass repeated after a crash decides the same; each transaction goes
through `send_or_resume` (recorded before broadcast, re-broadcast after a restart).
"""

from __future__ import annotations

import logging
from uuid import UUID

from application.app import SettlementApp
from application.chain_ports import ContractRefusal, OnchainChannel, OnchainChannelState
from application.chain_transactions import ChainTransactions
from application.channel_directory import ChannelDirectory
from application.cooperative_settlement import record_payout
from application.rails.registry import ChainRail, RailRegistry
from domain.address import Address
from domain.balance_proof import BalanceProof
from domain.channel import Channel, ChannelState

log = logging.getLogger(__name__)


class ChannelDisputes:
    def __init__(
        self,
        app: SettlementApp,
        directory: ChannelDirectory,
        rails: RailRegistry,
        transactions: ChainTransactions,
    ) -> None:
        self.app = app
        self.directory = directory
        self.rails = rails
        self.transactions = transactions

    def answer_all(self) -> int:
        """One pass over the closed channels; returns how many transactions it sent. A failure
        on one channel is logged and retried next pass; it does not stop the others."""
        sent = 0
        for channel_id in self.directory.closed_channels():
            try:
                sent += self.answer(channel_id)
            except Exception as error:
                # A retryable failure (RPC down) is tried again next pass; anything else needs
                # a person before the challenge period runs out.
                level = logging.WARNING if getattr(error, "retryable", False) else logging.ERROR
                log.log(
                    level,
                    "dispute step failed",
                    extra={"channel_id": str(channel_id), "error": str(error)},
                )
        return sent

    def answer(self, channel_id: UUID) -> int:
        """Contests the partner's close with its latest proof while the challenge runs, then
        settles once it is over; returns how many transactions this sent."""
        channel = self.app.channel(channel_id)
        if channel.state != ChannelState.CLOSED or channel.onchain_id is None:
            return 0
        rail = self.rails.of_channel(channel)
        onchain = rail.network.channel(channel.onchain_id)
        if onchain.state != OnchainChannelState.CLOSED:
            return 0  # settled meanwhile: the chain watcher records the payout
        now = rail.network.chain_time()
        if now <= onchain.settle_after:
            return int(self._contest(channel, rail, onchain))
        return int(self._settle(channel, rail))

    def close(self, channel_id: UUID, reason: str) -> str:
        """Closes the channel on chain with the partner's latest proof (none if it sent none);
        no proof of ours is signed on it from the moment this is decided."""
        self.app.abandon_channel(channel_id, reason)
        channel = self.app.channel(channel_id)
        assert channel.onchain_id is not None
        rail = self.rails.of_channel(channel)
        onchain_id = channel.onchain_id
        proof, signature = _partner_proof(channel)
        receipt = self.transactions.send_or_resume(
            channel_id,
            rail,
            "close",
            lambda: rail.network.prepare_close(onchain_id, proof, signature),
        )
        closed = receipt.first("ChannelClosed")
        self.app.record_channel_closed(
            channel_id, channel.our_address, closed.tx_hash, closed.log_index
        )
        return receipt.tx_hash

    def _contest(self, channel: Channel, rail: ChainRail, onchain: OnchainChannel) -> bool:
        """Puts the partner's latest proof on chain if it closed and the chain holds an older
        one; the contract accepts only a higher nonce, so that is the test."""
        if onchain.closer is None or Address(onchain.closer) != Address(channel.partner_address):
            return False
        proof, signature = _partner_proof(channel)
        if proof is None:
            return False  # it never paid us: nothing to put on chain
        recorded = rail.network.participant(proof.channel_id, channel.partner_address)
        if recorded.nonce >= proof.nonce:
            return False
        self.transactions.send_or_resume(
            channel.id,
            rail,
            f"update:{proof.nonce}",
            lambda: rail.network.prepare_update(proof.channel_id, proof, signature),
        )
        log.info(
            "partner's close contested with its latest proof",
            extra={"channel_id": str(channel.id), "nonce": proof.nonce},
        )
        return True

    def _settle(self, channel: Channel, rail: ChainRail) -> bool:
        assert channel.onchain_id is not None
        onchain_id = channel.onchain_id
        try:
            receipt = self.transactions.send_or_resume(
                channel.id, rail, "settle", lambda: rail.network.prepare_settle(onchain_id)
            )
        except ContractRefusal:
            if rail.network.channel(onchain_id).state == OnchainChannelState.SETTLED:
                return False  # the partner settled first: the chain watcher records it
            raise
        record_payout(self.app, channel.id, receipt)
        return True


def _partner_proof(channel: Channel) -> tuple[BalanceProof | None, bytes]:
    """The partner's latest balance proof we hold and its signature, if it ever sent one."""
    if channel.partner_nonce == 0 or channel.onchain_id is None:
        return None, b""
    proof = BalanceProof(channel.onchain_id, channel.partner_nonce, channel.partner_transferred)
    return proof, bytes.fromhex(channel.partner_signature.removeprefix("0x"))
