"""Reading what a TokenNetwork holds, for reconciliation: channel states, deposits, escrow.

Read-only: it signs and sends nothing. The contract has no withdraw, and a settled channel
keeps its deposits recorded while its tokens are paid out, so the escrow (the token balance of
the TokenNetwork) equals the deposits of the channels not yet settled.
"""

from __future__ import annotations

from application.chain_ports import TokenNetworkPort, TokenPort
from application.reconciliation_checks import ChainChannel


class EvmChainAudit:
    """The ChainAuditPort for one rail: a TokenNetwork and its token, through our clients."""

    def __init__(self, chain_id: int, network: TokenNetworkPort, token: TokenPort) -> None:
        self._chain_id = chain_id
        self.network = network
        self.token = token

    @property
    def chain_id(self) -> int:
        return self._chain_id

    @property
    def token_network(self) -> str:
        return str(self.network.address)

    def channel(self, onchain_id: int, our_address: str, partner_address: str) -> ChainChannel:
        view = self.network.channel(onchain_id)
        ours = self.network.participant(onchain_id, our_address)
        theirs = self.network.participant(onchain_id, partner_address)
        return ChainChannel(view.state, ours.deposit, theirs.deposit)

    def escrow_balance(self) -> int:
        return self.token.balance_of(self.token_network)
