"""The demo: peers, streamed packet batches, thresholds crossed, settlements requested."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from application.processes.settlement_monitor import SettlementMonitor
from application.wiring import Node
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry

PEERS = ["alice", "bob", "carol", "dave", "erin"]
ASSET = Asset("USD", 6)


@dataclass
class DemoReport:
    packets: int = 0
    batches: int = 0
    crossings: int = 0
    settlements_requested: list[UUID] = field(default_factory=list)


def run_demo(
    node: Node,
    run_id: str,
    clock: Callable[[], datetime],
    *,
    batches_per_peer: int = 20,
    batch_size: int = 250,
    seed: int = 7,
    on_batch: Callable[[], None] = lambda: None,
) -> DemoReport:
    app = node.app
    rng = random.Random(seed)
    report = DemoReport()
    for peer in PEERS:
        app.open_peer_account(
            peer, ASSET, threshold=5_000_000, settle_to=1_000_000, credit_limit=10**15
        )
    monitor = node.runner(SettlementMonitor(app, clock))
    for index in range(batches_per_peer):
        for peer in PEERS:
            entries = [
                PacketEntry(
                    f"{run_id}-{peer}-{index}-{n}",
                    Direction.OUTGOING if rng.random() < 0.6 else Direction.INCOMING,
                    rng.randint(1_000, 9_000),
                )
                for n in range(batch_size)
            ]
            result = app.record_packets(peer, ASSET.code, f"{run_id}-{peer}-{index}", entries)
            report.packets += len(entries)
            report.batches += 1
            report.crossings += int(result.threshold_crossed)
            on_batch()
        monitor.catch_up()
    node.catch_up_read_models()
    return report
