"""Wiring of reconciliation: the books (replay, ledger, read models), the chain audits, the gauge.

`build_reconciler` is what `settle reconcile` runs; `reconcile_on_schedule` is the part
`settle run` can start: it runs the checks every interval in its own thread, reading only and
recording one new aggregate per run, so it never holds up recording.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from adapters.ledger.factory import build_chart, build_ledger
from adapters.ledger.reconcile import compare_balances
from adapters.metrics.definitions import NodeMetrics
from adapters.postgres.chain_cursors import PostgresChainCursors
from application.rails.registry import ChainRail, RailRegistry
from application.reconciliation import Reconciler
from bootstrap.node import Node
from bootstrap.replay import replay
from domain.address import Address
from projections.ledger_postings import LedgerPostingsProjection
from projections.reconciliation import DEFAULT_CLAIM_GRACE, ReconciliationBooks

if TYPE_CHECKING:
    # The EVM adapters import web3 (about 1.5 s): imported only when a rail is audited or built.
    from adapters.evm.chain_audit import EvmChainAudit

log = logging.getLogger(__name__)


@contextmanager
def build_reconciler(
    node: Node,
    rails: RailRegistry | None,
    clock: Callable[[], datetime],
    metrics: NodeMetrics | None = None,
    *,
    catch_up_ledger: bool = True,
    claim_grace: timedelta = DEFAULT_CLAIM_GRACE,
) -> Iterator[Reconciler]:
    """A reconciler over this node; the ledger adapter it opens is closed on exit.

    `catch_up_ledger` posts what the ledger has not yet posted before comparing (the CLI); a
    running service leaves that to its ledger follower, and a lagging ledger shows as a
    difference until the next run.
    """
    settings = node.settings.ledger
    ledger = build_ledger(settings, node.database_url)
    chart = build_chart(settings)

    def ledger_comparisons(peer_id: str | None) -> Sequence[Any]:
        if catch_up_ledger:
            node.runner(LedgerPostingsProjection(ledger, chart)).catch_up()
        node.catch_up_read_models()
        return compare_balances(ledger, chart, node.read_side().all_balances(peer_id))

    def replayed() -> tuple[int, Sequence[Any]]:
        report = replay(node)
        return report.position, report.differences

    books = ReconciliationBooks(
        node.pool,
        node.app,
        replayed,
        ledger_comparisons,
        catch_up=node.catch_up_read_models,
        claim_grace=claim_grace,
    )
    audits = [_chain_audit(node, rail) for rail in (rails or {}).values()]
    observe = _gauge(metrics) if metrics is not None else (lambda _check, _count: None)
    try:
        yield Reconciler(node.app, books, audits, clock, observe)
    finally:
        ledger.close()


def _chain_audit(node: Node, rail: ChainRail) -> EvmChainAudit:
    """The rail's audit: its TokenNetwork's logs read in the chain settings' block ranges, and
    the chain sync's cursor saying how far the books can know the chain."""
    from adapters.evm.chain_audit import EvmChainAudit
    from adapters.evm.token import TokenClient
    from adapters.evm.token_network import TokenNetworkClient
    from adapters.evm.watcher import ChainWatcher

    network, token = rail.network, rail.token
    if not isinstance(network, TokenNetworkClient) or not isinstance(token, TokenClient):
        raise TypeError(f"rail {rail.name!r}: reconciliation reads the chain through EVM clients")
    chain = node.settings.chain
    watcher = ChainWatcher(
        network.web3, network.address, network.abi, network.confirmations, chain.log_block_range
    )
    cursors = PostgresChainCursors(node.pool)
    return EvmChainAudit(
        rail.chain_id,
        network,
        token.contract,
        watcher,
        chain.audit_start_block,
        lambda: cursors.next_block(rail.chain_id, Address(rail.token_network)),
    )


def configured_rails(node: Node) -> RailRegistry | None:
    """The enabled rails of the settings, connected over RPC; None when none is configured.
    Reconciliation only reads through them (the key is loaded because the clients carry it)."""
    settings = node.settings
    configs = [r for r in settings.rails.rails if r.enabled]
    if not configs:
        return None
    from adapters.evm.transactions import NonceManager
    from adapters.signing.configured import load_signer
    from bootstrap.rails import connect_rail, rpc_web3

    signer = load_signer(settings.chain)
    rails = {}
    for config in configs:
        web3 = rpc_web3(config, settings.chain.rpc_timeout_seconds)
        rails[config.name], _watcher = connect_rail(
            config, signer, web3, NonceManager(), settings.chain
        )
    return RailRegistry(rails)


def _gauge(metrics: NodeMetrics) -> Callable[[str, int], None]:
    def observe(check: str, count: int) -> None:
        metrics.reconciliation_differences.labels(check=check).set(count)

    return observe


def reconcile_on_schedule(
    reconciler: Reconciler, interval: timedelta, stop: threading.Event
) -> None:
    """Runs every check each `interval` until `stop` is set. A run that fails is logged and
    the next one runs on time: reconciliation reports trouble, it never stops the node."""
    while not stop.wait(interval.total_seconds()):
        try:
            report = reconciler.run()
        except Exception:
            log.exception("reconciliation run failed")
            continue
        log.info(
            "reconciliation run",
            extra={"run_key": report.run_key, "checked": report.checked, "clean": report.clean},
        )
