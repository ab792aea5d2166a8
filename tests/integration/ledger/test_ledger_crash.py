"""Crash test: SIGKILL the ledger projection at random points while it posts 50,000 packets.

After restarting it until it finishes, the ledger holds exactly one transfer per packet and
its balances equal the balance read model.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.ledger.chart import Chart
from adapters.ledger.ids import packet_key
from adapters.ledger.port import LedgerPort, iter_account_transfers
from adapters.ledger.reconcile import compare_balances
from application import queries
from bootstrap.node import Node, open_node
from bootstrap.settings import Settings
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry
from projections.ledger_postings import LedgerPostingsProjection
from projections.runner import head_position

PACKETS = 50_000
PER_BATCH = 500
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def node(database_url: str) -> Iterator[Node]:
    with open_node(Settings(database_url=database_url)) as n:
        yield n


def backend_env(ledger: LedgerPort) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SETTLE_LEDGER__")}
    env["SETTLE_LEDGER__BACKEND"] = ledger.backend  # type: ignore[attr-defined]
    if ledger.backend == "tigerbeetle":  # type: ignore[attr-defined]
        env["SETTLE_LEDGER__CLUSTER_ID"] = str(ledger._cluster_id)  # type: ignore[attr-defined]
        env["SETTLE_LEDGER__REPLICA_ADDRESSES"] = ledger._addresses  # type: ignore[attr-defined]
    return env


def run_until_done(database_url: str, env: dict[str, str], head: int, position: object) -> int:
    """Starts the projection, kills it at random moments, restarts; returns the kills made."""
    rng = random.Random(20261122)
    kills = 0
    command = [sys.executable, "-m", "tests.support.ledger_catch_up"]
    command += ["--database-url", database_url, "--batch-size", "10"]
    for attempt in range(40):
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL
        )
        try:
            if attempt < 6:
                time.sleep(rng.uniform(0.8, 3.0))
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)
                    kills += 1
            process.wait(timeout=300)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if process.returncode == 0 and position() == head:  # type: ignore[operator]
            return kills
    raise AssertionError("the ledger projection never finished")


@pytest.mark.slow
def test_killed_projection_posts_each_packet_exactly_once(node: Node, ledger: LedgerPort) -> None:
    peer = f"crash-{uuid.uuid4().hex[:8]}"
    node.app.open_peer_account(peer, Asset("USD", 2), 10**15, 0, 10**15)
    rng = random.Random(7)
    directions: Counter[Direction] = Counter()
    for batch in range(PACKETS // PER_BATCH):
        entries = []
        for index in range(PER_BATCH):
            direction = Direction.OUTGOING if rng.random() < 0.6 else Direction.INCOMING
            directions[direction] += 1
            entries.append(PacketEntry(f"{batch}-{index}", direction, rng.randint(1, 10_000)))
        node.app.record_packets(peer, "USD", f"batch-{batch}", entries)
    head = head_position(node.app)
    runner = node.runner(LedgerPostingsProjection(ledger, Chart()))

    kills = run_until_done(node.database_url, backend_env(ledger), head, runner.position)

    assert kills >= 1, "no kill landed while the projection was running"
    accounts = Chart().peer_accounts(peer, "USD")
    outgoing = list(iter_account_transfers(ledger, accounts.payable.id))
    incoming = list(iter_account_transfers(ledger, accounts.receivable.id))
    assert len(outgoing) == directions[Direction.OUTGOING]
    assert len(incoming) == directions[Direction.INCOMING]
    expected_keys = {
        packet_key(f"{b}-{i}") for b in range(PACKETS // PER_BATCH) for i in range(PER_BATCH)
    }
    assert {t.user_data_128 for t in outgoing + incoming} == expected_keys
    node.catch_up_read_models()
    [comparison] = compare_balances(ledger, Chart(), queries.balances(node.database_url, peer))
    assert comparison.matches, comparison
