"""Channel: a payment channel with a peer on one chain and token network.

OpenRequested -> Opened -> Closed -> Settled, with Failed for an open that never happened
(cooperative settlement goes from Opened straight to Settled). Deposits are monotonic totals.
Facts observed on chain are recorded once per (transaction hash, log index): the application
checks its index of observed logs, written with the events, so the state does not keep them.

The aggregate is put together from parts in sibling modules, each a mixin whose events keep the
topic `domain.channel:Channel.<Name>` (see their docstrings): facts observed on chain
(`channel_chain_facts`), balance proofs (`channel_balance_proofs`) and the transactions we send
(`channel_transactions`). This class opens, fails and abandons the channel and checks its state.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.address import Address
from domain.channel_balance_proofs import BalanceProofs
from domain.channel_chain_facts import ChainFacts
from domain.channel_state import ChannelState, ProofVerdict, log_key
from domain.channel_transactions import ChainTransactions
from domain.errors import IllegalTransition, InvalidBalanceProof
from domain.ids import derive_id

__all__ = ["Channel", "ChannelState", "ProofVerdict", "log_key"]


class Channel(ChainFacts, BalanceProofs, ChainTransactions, Aggregate):  # Aggregate last
    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """A snapshot taken before issue 14: `observed_logs` (every log ever recorded) is
        dropped, as are the final transactions (confirmed or dropped); the index tables hold
        both (migration 0095). The count of signed transactions is what `transactions` held."""
        state.pop("observed_logs", None)
        transactions = state.get("transactions", {})
        state["transactions_signed"] = len(transactions)
        state["transactions"] = {
            tx_hash: tx
            for tx_hash, tx in transactions.items()
            if not tx.get("confirmed") and not tx.get("dropped")
        }

    @staticmethod
    def create_id(channel_key: str) -> UUID:
        return derive_id("channel", channel_key)

    class OpenRequested(Aggregate.Created):
        channel_key: str
        peer_id: str
        asset_code: str
        chain_id: int
        token_network: str
        our_address: str
        partner_address: str
        settle_timeout: int
        token_decimals: int
        asset_scale: int

    @event(OpenRequested)
    def __init__(
        self,
        channel_key: str,
        peer_id: str,
        asset_code: str,
        chain_id: int,
        token_network: str,
        our_address: str,
        partner_address: str,
        settle_timeout: int,
        token_decimals: int,
        asset_scale: int,
    ) -> None:
        self.channel_key = channel_key
        self.peer_id = peer_id
        self.asset_code = asset_code
        self.chain_id = chain_id
        self.token_network = token_network
        self.our_address = our_address
        self.partner_address = partner_address
        self.settle_timeout = settle_timeout
        self.token_decimals = token_decimals
        self.asset_scale = asset_scale
        self.state = ChannelState.OPEN_REQUESTED
        self.onchain_id: int | None = None
        self.our_deposit = 0
        self.partner_deposit = 0
        self.our_nonce = 0
        self.our_transferred = 0
        self.our_signature = ""
        self.partner_nonce = 0
        self.partner_transferred = 0
        self.partner_signature = ""
        # tx hash -> {purpose, raw_transaction, sender, nonce, confirmed, succeeded}: only the
        # transactions not final yet (see `channel_transactions`), and how many were ever signed.
        self.transactions: dict[str, dict[str, Any]] = {}
        self.transactions_signed = 0
        self.failure_reason: str | None = None
        self.abandoned_reason: str | None = None

    @classmethod
    def request_open(
        cls,
        channel_key: str,
        peer_id: str,
        asset_code: str,
        chain_id: int,
        token_network: str,
        our_address: str,
        partner_address: str,
        settle_timeout: int,
        token_decimals: int = 18,
        asset_scale: int = 18,
    ) -> Channel:
        """Amounts on the channel are in token units (`token_decimals` places); the ledger
        counts the asset at `asset_scale` places."""
        if Address(our_address, "our_address") == Address(partner_address, "partner_address"):
            raise InvalidBalanceProof("partner_address", partner_address, "must differ from ours")
        if settle_timeout <= 0:
            raise InvalidBalanceProof("settle_timeout", settle_timeout, "must be positive")
        return cls(
            channel_key=channel_key,
            peer_id=peer_id,
            asset_code=asset_code,
            chain_id=chain_id,
            token_network=token_network,
            our_address=our_address,
            partner_address=partner_address,
            settle_timeout=settle_timeout,
            token_decimals=token_decimals,
            asset_scale=asset_scale,
        )

    class OpenFailed(Aggregate.Event):
        reason: str

    def fail_open(self, reason: str) -> None:
        self._require(ChannelState.OPEN_REQUESTED, "fail the open")
        self._open_failed(reason=reason)

    @event(OpenFailed)
    def _open_failed(self, reason: str) -> None:
        self.state = ChannelState.FAILED
        self.failure_reason = reason

    class Abandoned(Aggregate.Event):
        reason: str

    def abandon(self, reason: str) -> None:
        """We stop using this channel for new payments (it closed or is disputed under us)."""
        if self.abandoned_reason is None:
            self._abandoned(reason=reason)

    @event(Abandoned)
    def _abandoned(self, reason: str) -> None:
        self.abandoned_reason = reason

    @property
    def usable(self) -> bool:
        return self.abandoned_reason is None and self.state in (
            ChannelState.OPEN_REQUESTED,
            ChannelState.OPENED,
        )

    def _require(self, state: ChannelState, command: str) -> None:
        if self.state != state:
            raise IllegalTransition("Channel", self.id, self.state.value, command)
