"""Development chains: contracts deployed and keys funded, on eth-tester (in-process) or Anvil.

Only for `settle demo` and tests: it mints test tokens and spends the node's unlocked
development accounts, which a real chain does not have.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account
from web3 import Web3

from adapters.evm.chains import deploy, fund_from_development_account
from adapters.evm.token import TokenClient
from adapters.evm.transactions import NonceManager, TransactionSender
from adapters.signing.local_key import LocalKeySigner
from adapters.signing.signer import Signer
from application.rails.config import RailConfig

SETTLE_TIMEOUT_MIN = 10
SETTLE_TIMEOUT_MAX = 30 * 24 * 3600


@dataclass(frozen=True)
class DevelopmentRails:
    web3: Web3
    token: str
    rails: list[RailConfig]


def deploy_rails(
    web3: Web3,
    names: list[str],
    *,
    token_decimals: int = 18,
    rpc_url: str | None = None,
    costs: list[int] | None = None,
) -> DevelopmentRails:
    """One TestToken and a TokenNetwork per rail name, deployed by a throwaway key."""
    deployer = LocalKeySigner(Account.create())
    fund_from_development_account(web3, deployer.address, 10**20)
    sender = TransactionSender(web3, deployer, NonceManager(), poll_interval_seconds=0.02)
    token = deploy(sender, "TestToken", ["Test Token", "TST", token_decimals])
    chain_id = int(web3.eth.chain_id)
    configs = []
    for index, name in enumerate(names):
        network = deploy(sender, "TokenNetwork", [token, SETTLE_TIMEOUT_MIN, SETTLE_TIMEOUT_MAX])
        configs.append(
            RailConfig(
                name=name,
                chain_id=chain_id,
                rpc_url=rpc_url,
                token_network=network,
                token=token,
                confirmations=0,
                estimated_cost=(costs or [])[index]
                if costs and index < len(costs)
                else 100 + index,
                estimated_latency_ms=1000 + 100 * index,
            )
        )
    return DevelopmentRails(web3, token, configs)


def fund_participant(web3: Web3, signer: Signer, token: str, tokens: int) -> None:
    """Gives a node's key ether for gas and `tokens` test tokens to deposit."""
    fund_from_development_account(web3, signer.address, 10**20)
    sender = TransactionSender(web3, signer, NonceManager(), poll_interval_seconds=0.02)
    token_client = TokenClient(sender, token)
    signed = token_client.prepare_mint(signer.address, tokens)
    sender.broadcast(signed)
    sender.wait_confirmed(signed.tx_hash, 0, 60)


__all__ = ["DevelopmentRails", "deploy_rails", "fund_participant"]
