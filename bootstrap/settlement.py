"""Wiring of the settlement process: chains and rails, channels, claims, executor, followers.

Built from the settings and a node (application and database); the one place these adapters
are constructed. Tests and `settle demo` pass in a development chain they started. The process
signs with a whole key set: new channels with the active key, each older channel with the key
that opened it (see application/rails/registry.py).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from psycopg.rows import tuple_row
from psycopg_pool import ConnectionPool
from web3 import EthereumTesterProvider, Web3

from adapters.claims.client import claim_sender
from adapters.evm.artifacts import load_artifact
from adapters.evm.chains import connect_rpc
from adapters.evm.channel_transactions import EvmTransactions
from adapters.evm.rpc_observed import RpcObserver
from adapters.evm.settings import ChainSettings
from adapters.evm.token import TokenClient
from adapters.evm.token_network import TokenNetworkClient
from adapters.evm.transactions import NonceManager, TransactionSender
from adapters.evm.watcher import ChainWatcher
from adapters.postgres.chain_cursors import PostgresChainCursors
from adapters.signing.key_set import KeySet
from adapters.signing.signer import Signer
from application.chain_sync import ChainSync, ChainSyncs
from application.chain_transactions import ChainTransactions
from application.channel_directory import ChannelDirectory
from application.channels import ChannelService
from application.claims import ClaimDelivery, ClaimReceiver
from application.disputes import ChannelDisputes
from application.processes.channel_provisioner import ChannelProvisioner
from application.processes.retry_policy import RetryPolicy
from application.processes.settlement_executor import SettlementExecutor
from application.processes.settlement_steps import SettlementSteps
from application.rails.config import RailConfig
from application.rails.coordinator import RailCoordinator
from application.rails.registry import ChainRail, RailRegistry
from application.rails.routing import CoordinatedRouting
from bootstrap.node import Node
from bootstrap.settings import Settings
from domain.settlement import Settlement
from entrypoints.http.claims_server import ClaimServer
from projections.balances import BalancesProjection
from projections.channel_queries import ChannelQueries
from projections.channels import ChannelsProjection
from projections.runner import ProjectionRunner
from projections.settlement_queries import SettlementQueries
from projections.settlements import SettlementsProjection

log = logging.getLogger(__name__)


class LedgerProgress:
    """Whether the ledger-postings follower has posted a settlement's recorded events."""

    def __init__(self, runner: ProjectionRunner, pool: ConnectionPool[Any], drive: bool) -> None:
        self.runner = runner
        self.pool = pool
        self.drive = drive  # catch the follower up here (no separate thread runs it)

    def caught_up_with(self, settlement: Settlement) -> bool:
        with self.pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
            row = cursor.execute(
                "SELECT max(notification_id) FROM settlementledger_events WHERE originator_id = %s",
                (settlement.id,),
            ).fetchone()
        position = int(row[0]) if row and row[0] is not None else 0
        if self.drive:
            self.runner.catch_up(stop_at=position)
        return self.runner.position() >= position


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


@dataclass
class SettlementProcess:
    node: Node
    rails: RailRegistry
    coordinator: RailCoordinator
    directory: ChannelDirectory
    channels: ChannelService
    disputes: ChannelDisputes
    syncs: ChainSyncs
    receiver: ClaimReceiver
    delivery: ClaimDelivery
    steps: SettlementSteps[Any]
    executor: SettlementExecutor
    provisioner: ChannelProvisioner
    ledger_runner: ProjectionRunner | None
    server: ClaimServer | None = None
    _threads: list[threading.Thread] = field(default_factory=list)

    def sync_chain(self) -> int:
        return self.syncs.sync_all()

    def answer_disputes(self) -> int:
        """Contests partners' closes and settles closed channels after their challenge period."""
        return self.disputes.answer_all()

    def start_claims_server(self, tokens: dict[str, str]) -> str:
        settings = self.node.settings.claims
        self.server = ClaimServer(self.receiver, tokens, host=settings.host, port=settings.port)
        self.server.start()
        return self.server.url

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


def build_settlement_process(
    node: Node,
    keys: Signer | KeySet,
    rail_configs: list[RailConfig],
    web3_for: Callable[[RailConfig], Web3],
    clock: Callable[[], datetime],
    rng: random.Random | None = None,
    *,
    ledger_runner: ProjectionRunner | None = None,
    drive_ledger: bool = True,
) -> SettlementProcess:
    settings = node.settings
    chain = settings.chain
    keys = keys if isinstance(keys, KeySet) else KeySet(keys)
    connected, older_keys = _connect_rails(rail_configs, keys, web3_for, chain)
    rails = RailRegistry({name: rail for name, (rail, _) in connected.items()}, older_keys)
    coordinator = RailCoordinator(settings.rails.model_copy(update={"rails": rail_configs}), clock)
    directory = ChannelDirectory(
        ChannelQueries(
            node.pool, node.runner(ChannelsProjection()), node.runner(BalancesProjection())
        )
    )
    cursors = PostgresChainCursors(node.pool)
    syncs = ChainSyncs(
        [
            ChainSync(node.app, cursors, directory, rail, watcher)
            for rail, watcher in connected.values()
        ]
    )
    transactions = ChainTransactions(node.app, directory, rails)
    channels = ChannelService(
        node.app,
        directory,
        rails,
        transactions,
        syncs.sync_rail,
        settings.settlement.deposit_multiple,
    )
    disputes = ChannelDisputes(node.app, directory, rails, transactions)
    delivery = claim_delivery(settings)
    receiver = ClaimReceiver(
        node.app,
        settings.node_id,
        directory,
        channels,
        syncs.sync_all,
        pause_on_double_spend=settings.claims.pause_on_double_spend,
    )
    policy = RetryPolicy.from_settings(settings.settlement)
    progress = LedgerProgress(ledger_runner, node.pool, drive_ledger) if ledger_runner else None
    steps = SettlementSteps(
        node.app,
        channels,
        delivery,
        CoordinatedRouting(coordinator),
        progress,
        policy,
        clock,
        # Retry jitter, not security (bandit B311).
        rng or random.Random(),  # nosec B311
        onchain_mode=settings.settlement.onchain_mode,
    )
    executor = SettlementExecutor(
        steps,
        SettlementQueries(node.pool, node.runner(SettlementsProjection())),
        clock,
        workers=settings.settlement.workers,
        queue_size=settings.settlement.queue_size,
        stuck_after=timedelta(seconds=settings.settlement.stuck_after_seconds),
        stuck_action=settings.settlement.stuck_action,
    )
    provisioner = ChannelProvisioner(node.app, channels, clock)
    process = SettlementProcess(
        node,
        rails,
        coordinator,
        directory,
        channels,
        disputes,
        syncs,
        receiver,
        delivery,
        steps,
        executor,
        provisioner,
        ledger_runner,
    )
    return process


def _connect_rails(
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


__all__ = ["LedgerProgress", "SettlementProcess", "build_settlement_process", "rpc_web3"]


def claim_delivery(settings: Settings) -> ClaimDelivery:
    """Delivers our claims to peers' nodes with the configured tokens (the executor's, and
    `settle dlq retry`'s for a dead letter whose claim must go out again)."""
    tokens = {peer: token.get_secret_value() for peer, token in settings.claims.tokens.items()}
    return ClaimDelivery(settings.node_id, tokens, claim_sender(settings.claims.timeout_seconds))
