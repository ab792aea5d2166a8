"""The executor acts on recorded events, not on its periodic scan: with the scan an hour apart,
packets that cross the threshold get their settlement requested and completed at once, and a
retry wakes the executor when its time comes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from web3 import Web3

from adapters.evm.chains import start_eth_tester
from application.clock import ManualClock
from devtools.dev_chain import DevelopmentRails, deploy_rails
from domain.peer_account import Direction, PacketEntry
from domain.settlement import SettlementStatus
from tests.support.two_nodes import TOKEN_DECIMALS, USD, TestNode, befriend, start_node

THRESHOLD = 5_000_000
AN_HOUR = 3600.0


@pytest.fixture
def nodes(database_url: str, database_url_b: str) -> Iterator[tuple[TestNode, TestNode]]:
    web3: Web3 = start_eth_tester()
    dev: DevelopmentRails = deploy_rails(
        web3, ["local-a", "local-b"], token_decimals=TOKEN_DECIMALS
    )
    clock = ManualClock()
    a = start_node("node-a", "node-b", database_url, web3, dev, clock)
    b = start_node("node-b", "node-a", database_url_b, web3, dev, clock)
    try:
        befriend(a, b, ["local-a", "local-b"], THRESHOLD)
        a.node.runner(a.process.provisioner).catch_up()
        yield a, b
    finally:
        a.close()
        b.close()


class CountedScans:
    """The executor's read-model searches, counted: the scan is the fallback this test rules out."""

    def __init__(self, work: Any) -> None:
        self._work = work
        self.scans = 0
        self.first_scan_done = threading.Event()

    def payable_accounts(self) -> list[UUID]:
        return list(self._work.payable_accounts())

    def due_settlements(self, now: datetime) -> list[UUID]:
        return list(self._work.due_settlements(now))

    def stuck_settlements(self, now: datetime, unchanged_for: timedelta) -> list[UUID]:
        self.scans += 1
        self.first_scan_done.set()
        return list(self._work.stuck_settlements(now, unchanged_for))


def settlements(node: TestNode) -> list[dict[str, object]]:
    node.node.catch_up_read_models()
    return list(node.node.read_side().all_settlements())


def wait_for(condition: object, what: str, limit: float = 120.0) -> None:
    """Waits on observed state; the limit only turns a hang into a failure."""
    deadline = time.monotonic() + limit
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)


def test_crossing_the_threshold_is_settled_without_waiting_for_a_scan(
    nodes: tuple[TestNode, TestNode],
) -> None:
    a, b = nodes
    stop = threading.Event()
    news = a.node.app.new_events
    executor = a.process.executor
    counted = executor.work = CountedScans(executor.work)
    driving = threading.Thread(
        target=executor.run, args=(stop,), kwargs={"poll_interval": AN_HOUR, "news": news}
    )
    driving.start()
    try:
        # The executor's first pass scans now; nothing is due yet. The next scan is an hour away.
        assert counted.first_scan_done.wait(60)
        entries = [PacketEntry(f"p{i}", Direction.OUTGOING, 1_500_000) for i in range(4)]
        a.node.app.record_packets(b.name, USD.code, "batch-1", entries)
        incoming = [PacketEntry(f"p{i}", Direction.INCOMING, 1_500_000) for i in range(4)]
        b.node.app.record_packets(a.name, USD.code, "batch-1", incoming)

        def completed() -> bool:
            found = settlements(a)
            return bool(found) and found[0]["status"] == SettlementStatus.COMPLETED.value

        wait_for(completed, "the settlement completed on events alone")
    finally:
        stop.set()
        driving.join(timeout=60)
    assert not driving.is_alive()
    assert counted.scans == 1  # only the first pass: the settlement came from the events
    [settlement] = settlements(a)
    assert settlement["amount"] == 6_000_000 - THRESHOLD // 5
