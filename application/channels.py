"""The channel port of the settlement process: a channel ready to carry a payment, our balance
proofs signed, and cooperative settlement — put together from the parts that do each.

Opening and deposits are in `channel_opening`, exactly-once transactions in
`chain_transactions`, final balances in `cooperative_settlement`, the rails in
`rails/registry`; this class is what the settlement steps, the claims receiver and the
provisioner hold, and it decides nothing they do not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from application.app import SettlementApp
from application.chain_transactions import ChainTransactions
from application.channel_directory import ChannelDirectory
from application.channel_opening import ChannelOpening
from application.cooperative_settlement import CooperativeSettling
from application.processes.ports import ChannelReadiness
from application.rails.registry import ChainRail, RailRegistry
from domain.balance_proof import BalanceProof
from domain.channel import Channel, ChannelState
from domain.final_balances import CooperativeSettlement
from domain.peer_account import PeerAccount
from domain.token_units import ledger_to_token


class ChannelService:
    def __init__(
        self,
        app: SettlementApp,
        directory: ChannelDirectory,
        rails: RailRegistry,
        transactions: ChainTransactions,
        sync_rail: Callable[[str], object],
        deposit_multiple: int,
    ) -> None:
        self.app = app
        self.rails = rails
        self.transactions = transactions
        self.cooperative = CooperativeSettling(app, rails, transactions)
        self.opening = ChannelOpening(app, directory, transactions, sync_rail)
        self.deposit_multiple = deposit_multiple

    def rail(self, name: str) -> ChainRail:
        return self.rails.named(name)

    # ChannelPort

    def ensure_channel(
        self,
        account: PeerAccount,
        rail_name: str,
        amount: int,
        at: datetime,
        *,
        may_send: bool = True,
    ) -> ChannelReadiness | None:
        # A new payment goes on a channel of the active key (the named rail's); the channel's
        # own rail (its key's) then sends every transaction on it.
        named = self.rails.named(rail_name)
        channel = self.opening.usable(account, named)
        if channel is None:
            if not may_send:
                return None
            channel = self.app.channel(self.opening.request_channel(account, named))
        channel_id = channel.id
        rail = self.rails.of_channel(channel)
        last_tx = None
        if channel.state == ChannelState.OPEN_REQUESTED:  # else open() has nothing to do
            if not may_send:
                return None
            last_tx = self.opening.open(channel_id, rail)
            channel = self.app.channel(channel_id)
        needed = channel.our_transferred + self._tokens(amount, account.asset_scale, rail)
        if needed > channel.our_deposit:
            if not may_send:
                return None
            headroom = self.initial_deposit(account, rail)
            last_tx = self.opening.deposit(channel_id, rail, needed + headroom)
        return ChannelReadiness(channel_id, last_tx)

    def ready_channel(self, account: PeerAccount, rail_name: str, amount: int) -> bool:
        """Whether `ensure_channel` would find our channel with the peer on this rail open and
        funded for `amount` more, and so send no transaction (a hint, decided on a view)."""
        if account.address is None:
            return False
        channel = self.opening.usable(account, self.rails.named(rail_name))
        if channel is None or channel.state != ChannelState.OPENED:
            return False
        needed = channel.our_transferred + self.token_amount(channel, amount, account.asset_scale)
        return needed <= channel.our_deposit

    def token_amount(self, channel: Channel, amount: int, asset_scale: int) -> int:
        return self._tokens(amount, asset_scale, self.rails.of_channel(channel))

    def sign_proof(self, channel: Channel, nonce: int, transferred_amount: int) -> str:
        assert channel.onchain_id is not None
        proof = BalanceProof(channel.onchain_id, nonce, transferred_amount)
        return "0x" + self.rails.of_channel(channel).network.sign_balance_proof(proof).hex()

    def abandon(self, channel_id: UUID, reason: str) -> None:
        self.app.abandon_channel(channel_id, reason)

    # Provisioning

    def request_channel(self, account: PeerAccount, rail: ChainRail) -> UUID:
        return self.opening.request_channel(account, rail)

    def initial_deposit(self, account: PeerAccount, rail: ChainRail) -> int:
        """Token units a new channel starts with: a multiple of the settlement threshold."""
        return self._tokens(self.deposit_multiple * account.threshold, account.asset_scale, rail)

    def top_up(self, channel_id: UUID, rail: ChainRail, total: int) -> str | None:
        """Raises our total deposit to at least `total` token units, with the channel's key
        (`rail` names the rail; the channel's own key sends)."""
        channel = self.app.channel(channel_id)
        if channel.our_deposit >= total:
            return None
        return self.opening.deposit(channel_id, self.rails.of_channel(channel), total)

    def resume_transactions(self) -> int:
        """At start-up: every recorded transaction left unconfirmed is sent again and settled."""
        return self.transactions.resume_all()

    # Cooperative settlement

    def cooperative_settlement(
        self, channel: Channel, our_transferred: int, partner_transferred: int
    ) -> CooperativeSettlement:
        return self.cooperative.terms(channel, our_transferred, partner_transferred)

    def sign_cooperative(self, channel: Channel, settlement: CooperativeSettlement) -> str:
        return self.cooperative.sign(channel, settlement)

    def verify_cooperative(
        self, channel: Channel, settlement: CooperativeSettlement, signature: str
    ) -> None:
        self.cooperative.verify(channel, settlement, signature)

    def settle_cooperatively(
        self, channel_id: UUID, settlement: CooperativeSettlement, ours: str, theirs: str
    ) -> str:
        return self.cooperative.settle(channel_id, settlement, ours, theirs)

    def _tokens(self, amount: int, asset_scale: int, rail: ChainRail) -> int:
        return ledger_to_token(amount, asset_scale, rail.token_decimals)
