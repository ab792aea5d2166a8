"""Two in-process nodes that settled once through a channel on Anvil, and the helpers the
reconciliation tests share: run the reconciler as `settle reconcile` does, pick differences."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from web3 import Web3

from adapters.evm.chains import connect_rpc
from adapters.metrics.definitions import NodeMetrics
from application.clock import ManualClock
from application.processes.settlement_monitor import SettlementMonitor
from application.reconciliation import ReconciliationReport
from application.reconciliation_checks import Difference
from bootstrap.reconciliation import build_reconciler
from devtools.dev_chain import DevelopmentRails, deploy_rails
from domain.peer_account import Direction, PacketEntry
from tests.support.two_nodes import TOKEN_DECIMALS, USD, TestNode, befriend, start_node

THRESHOLD = 5_000_000
RAIL = "local-a"


@pytest.fixture
def chain(anvil_url: str) -> tuple[Web3, DevelopmentRails]:
    web3 = connect_rpc(anvil_url, 10)
    return web3, deploy_rails(web3, [RAIL], token_decimals=TOKEN_DECIMALS, rpc_url=anvil_url)


@pytest.fixture
def settled(
    chain: tuple[Web3, DevelopmentRails], database_url: str, database_url_b: str
) -> Iterator[tuple[TestNode, TestNode, ManualClock]]:
    """A paid B once through a channel; both nodes' books are up to date."""
    web3, dev = chain
    clock = ManualClock()
    a = start_node("node-a", "node-b", database_url, web3, dev, clock)
    b = start_node("node-b", "node-a", database_url_b, web3, dev, clock)
    try:
        befriend(a, b, [RAIL], THRESHOLD)
        a.node.runner(a.process.provisioner).catch_up()
        record_traffic(a, b, [1_500_000] * 4, "batch-1")
        a.node.runner(SettlementMonitor(a.node.app, clock)).catch_up()
        a.process.executor.run_until_settled()
        a.process.sync_chain()
        b.process.sync_chain()
        a.node.catch_up_read_models()
        b.node.catch_up_read_models()
        yield a, b, clock
    finally:
        a.close()
        b.close()


def record_traffic(a: TestNode, b: TestNode, amounts: list[int], tag: str) -> None:
    out = [PacketEntry(f"{tag}-{i}", Direction.OUTGOING, amt) for i, amt in enumerate(amounts)]
    inc = [PacketEntry(f"{tag}-{i}", Direction.INCOMING, amt) for i, amt in enumerate(amounts)]
    a.node.app.record_packets(b.name, USD.code, tag, out)
    b.node.app.record_packets(a.name, USD.code, tag, inc)


def reconcile(
    node: TestNode, clock: ManualClock, *, catch_up_ledger: bool = True, **run: Any
) -> ReconciliationReport:
    metrics = NodeMetrics()
    with build_reconciler(
        node.node, node.process.rails, clock, metrics, catch_up_ledger=catch_up_ledger
    ) as reconciler:
        report = reconciler.run(**run)
    for check, count in report.checked.items():
        gauge = metrics.registry.get_sample_value(
            "settle_reconciliation_differences", {"check": check}
        )
        assert gauge == count
    return report


def only(report: ReconciliationReport, check: str) -> list[Difference]:
    return [d for d in report.differences if d.check == check]


def the_channel(node: TestNode) -> dict[str, Any]:
    [channel] = node.node.read_side().all_channels()
    return channel
