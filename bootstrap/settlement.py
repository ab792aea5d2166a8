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
from typing import TYPE_CHECKING, Any

from psycopg import sql
from psycopg.rows import tuple_row
from psycopg_pool import ConnectionPool

from adapters.claims.client import claim_sender
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
from application.rails.registry import RailRegistry
from application.rails.routing import CoordinatedRouting
from bootstrap.node import Node
from bootstrap.settings import Settings
from domain.settlement import Settlement
from projections.balances import BalancesProjection
from projections.channel_queries import ChannelQueries
from projections.channels import ChannelsProjection
from projections.runner import ProjectionRunner
from projections.settlement_queries import SettlementQueries
from projections.settlements import SettlementsProjection

if TYPE_CHECKING:
    # web3 and the EVM adapters (about 1.5 s to import) and FastAPI are imported only when a
    # rail is built or the claims endpoint started: a node with no rails never loads them.
    from web3 import Web3

    from bootstrap.rails import connect_rail, rpc_web3
    from entrypoints.http.claims_server import ClaimServer

log = logging.getLogger(__name__)


class LedgerProgress:
    """Whether the ledger-postings follower has posted a settlement's recorded events."""

    def __init__(self, runner: ProjectionRunner, pool: ConnectionPool[Any], drive: bool) -> None:
        self.runner = runner
        self.pool = pool
        self.drive = drive  # catch the follower up here (no separate thread runs it)

    def caught_up_with(self, settlement: Settlement) -> bool:
        if self.drive:
            position = self._last_position(settlement)
            self.runner.catch_up(stop_at=position)
            return self.runner.position() >= position
        # Asked again within milliseconds while the follower catches up: one round trip.
        tracking = sql.Identifier(self.runner.schema, "projection_tracking")
        query = sql.SQL(
            "SELECT (SELECT max(notification_id) FROM settlementledger_events"
            " WHERE originator_id = %s), (SELECT position FROM {} WHERE projection = %s)"
        ).format(tracking)
        with self.pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
            row = cursor.execute(query, (settlement.id, self.runner.projection.name)).fetchone()
        position = int(row[0]) if row and row[0] is not None else 0
        posted = int(row[1]) if row and row[1] is not None else 0
        if posted >= position:
            return True
        # The runner's position takes turns with the follower's batches: if the batch with
        # these events is being posted now, this waits for it instead of a later look.
        return self.runner.position() >= position

    def _last_position(self, settlement: Settlement) -> int:
        with self.pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
            row = cursor.execute(
                "SELECT max(notification_id) FROM settlementledger_events WHERE originator_id = %s",
                (settlement.id,),
            ).fetchone()
        return int(row[0]) if row and row[0] is not None else 0


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
        from entrypoints.http.claims_server import ClaimServer

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
    from bootstrap.rails import connect_rails

    settings = node.settings
    chain = settings.chain
    keys = keys if isinstance(keys, KeySet) else KeySet(keys)
    connected, older_keys = connect_rails(rail_configs, keys, web3_for, chain)
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


__all__ = [
    "LedgerProgress",
    "SettlementProcess",
    "build_settlement_process",
    "connect_rail",
    "rpc_web3",
]


def __getattr__(name: str) -> Any:
    """`connect_rail` and `rpc_web3`, still importable from here, loaded from bootstrap.rails
    (and with it web3) only when first asked for."""
    if name in ("connect_rail", "rpc_web3"):
        from bootstrap import rails

        return getattr(rails, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def claim_delivery(settings: Settings) -> ClaimDelivery:
    """Delivers our claims to peers' nodes with the configured tokens (the executor's, and
    `settle dlq retry`'s for a dead letter whose claim must go out again)."""
    tokens = {peer: token.get_secret_value() for peer, token in settings.claims.tokens.items()}
    return ClaimDelivery(settings.node_id, tokens, claim_sender(settings.claims.timeout_seconds))
