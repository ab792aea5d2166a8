"""Rails on chain for the settlement process: each rail's clients (token network, token, the
transaction sender of one key) and its chain watcher, for every key of the node, over the rail's
RPC endpoints with failover and failback."""

from __future__ import annotations

import threading
from collections.abc import Callable

from web3 import EthereumTesterProvider, Web3

from adapters.evm.artifacts import load_artifact
from adapters.evm.chains import connect_rpc
from adapters.evm.channel_transactions import EvmTransactions
from adapters.evm.rpc_observed import RpcObserver
from adapters.evm.settings import ChainSettings
from adapters.evm.token import TokenClient
from adapters.evm.token_network import TokenNetworkClient
from adapters.evm.transactions import NonceManager, TransactionSender
from adapters.evm.watcher import ChainWatcher
from adapters.signing.key_set import KeySet
from adapters.signing.signer import Signer
from application.rails.config import RailConfig
from application.rails.registry import ChainRail


def connect_rail(
    config: RailConfig,
    signer: Signer,
    web3: Web3,
    nonces: NonceManager,
    chain: ChainSettings,
    lock: threading.RLock | None = None,
) -> tuple[ChainRail, ChainWatcher]:
    """The rail's clients and its chain watcher. `nonces` and `lock` are shared by the rails of
    one chain: one key, one nonce sequence."""
    lock = lock or threading.RLock()
    if config.token_network is None or config.token is None:
        raise ValueError(f"rail {config.name!r} needs token_network and token addresses")
    abi = load_artifact("TokenNetwork").abi
    sender = TransactionSender(
        web3,
        signer,
        nonces,
        abi,
        endpoint=",".join(config.rpc_endpoints) or "in-process",
        poll_interval_seconds=0.05,
    )
    network = TokenNetworkClient(
        sender,
        config.token_network,
        config.confirmations,
        receipt_timeout_seconds=chain.receipt_timeout_seconds,
    )
    token = TokenClient(sender, config.token)
    watcher = ChainWatcher(
        web3, network.address, network.abi, network.confirmations, chain.log_block_range
    )
    rail = ChainRail(
        config.name,
        config.chain_id,
        network,
        token,
        EvmTransactions(network),
        token.decimals(),
        chain.settle_timeout_seconds,
        lock,
        sequential=isinstance(web3.provider, EthereumTesterProvider),
    )
    return rail, watcher


def connect_rails(
    rail_configs: list[RailConfig],
    keys: KeySet,
    web3_for: Callable[[RailConfig], Web3],
    chain: ChainSettings,
) -> tuple[dict[str, tuple[ChainRail, ChainWatcher]], list[dict[str, ChainRail]]]:
    """The active key's rails with their chain watchers (one per rail), and each older key's
    rails, for the channels opened with it. Every key has its own clients: a key's rails on one
    chain share its one nonce sequence and lock (one key, one sequence)."""
    web3s = {config.name: web3_for(config) for config in rail_configs}

    def connect(signer: Signer) -> dict[str, tuple[ChainRail, ChainWatcher]]:
        nonces: dict[int, NonceManager] = {}
        locks: dict[int, threading.RLock] = {}
        rails: dict[str, tuple[ChainRail, ChainWatcher]] = {}
        for config in rail_configs:
            web3 = web3s[config.name]
            rails[config.name] = connect_rail(
                config,
                signer,
                web3,
                nonces.setdefault(id(web3), NonceManager()),
                chain,
                locks.setdefault(id(web3), threading.RLock()),
            )
        return rails

    older = [
        {name: rail for name, (rail, _watcher) in connect(signer).items()}
        for signer in keys.older()
    ]
    return connect(keys.active), older


def rpc_web3(
    config: RailConfig,
    timeout_seconds: float,
    observer: RpcObserver | None = None,
    failback_seconds: float = 30.0,
) -> Web3:
    """The rail's chain over its endpoints (`rpc_url`, then `rpc_urls`), with failover and
    failback to the first; every call reported to the observer when one is given (the node's
    RPC metrics)."""
    if not config.rpc_endpoints:
        raise ValueError(f"rail {config.name!r} has neither rpc_url nor rpc_urls")
    return connect_rpc(
        config.rpc_endpoints, timeout_seconds, config.chain_id, observer, failback_seconds
    )
