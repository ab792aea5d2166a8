"""Crash test: the ledger projection is killed inside the posting of a batch while it posts
50,000 packets, before the ledger call and after the ledger acknowledged (tracking not yet
committed), at batches chosen in advance.

The child kills itself at a failpoint once it has applied the batches asked for, so every kill
lands mid-projection on any machine. After restarting it until it finishes, the ledger holds
exactly one transfer per packet and its balances equal the balance read model.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.ledger.chart import Chart
from adapters.ledger.ids import packet_key, transfer_id
from adapters.ledger.port import LedgerPort, iter_account_transfers
from adapters.ledger.reconcile import compare_balances
from bootstrap.node import Node, open_node
from bootstrap.settings import Settings
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry, PeerAccount
from projections.ledger_postings import LedgerPostingsProjection
from projections.runner import head_position

PACKETS = 50_000
PER_BATCH = 500  # packets per event: 100 events, 11 batches of BATCH_SIZE events
BATCH_SIZE = 10
CRASHES = [
    ("postings_after_ledger", 0),
    ("postings_before_ledger", 1),
    ("postings_after_ledger", 2),
    ("postings_before_ledger", 2),
    ("postings_after_ledger", 0),
    ("postings_after_ledger", 0),
    ("postings_before_ledger", 2),
]
"""(failpoint, batches applied before it fires): 7 of the 11 batches commit across 7 crashes;
a batch acknowledged by the ledger is replayed by the next run, once twice in a row."""
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


def run_child(database_url: str, env: dict[str, str], *crash: str) -> int:
    """Runs the catch-up child to its end (or its crash); returns its exit code."""
    command = [sys.executable, "-m", "tests.support.ledger_catch_up"]
    command += ["--database-url", database_url, "--batch-size", str(BATCH_SIZE), *crash]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL
    )
    try:
        return process.wait(timeout=300)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def next_batch_first_transfer(app: Any, position: int) -> int:
    """The id of the first packet transfer the batch after `position` posts."""
    notifications = app.recorder.select_notifications(
        start=position, limit=BATCH_SIZE, inclusive_of_start=False
    )
    events = [app.mapper.to_domain_event(n) for n in notifications]
    recorded = next(e for e in events if isinstance(e, PeerAccount.PacketsRecorded))
    return transfer_id(recorded.originator_id, recorded.originator_version, 0)


def position_after(app: Any, position: int, batches: int) -> int:
    """Where the runner stands after applying `batches` more batches from `position`."""
    if batches == 0:
        return position
    notifications = app.recorder.select_notifications(
        start=position, limit=batches * BATCH_SIZE, inclusive_of_start=False
    )
    return int(notifications[-1].id)


def crash_and_restart(node: Node, ledger: LedgerPort, head: int, position: Any) -> int:
    """Crashes the child at each point of CRASHES, checks where it died, then lets it finish."""
    env = backend_env(ledger)
    kills = 0
    acknowledged: set[int] = set()  # first transfers of batches the ledger has, uncommitted
    for crash_at, after_batches in CRASHES:
        before = position()
        expected = position_after(node.app, before, after_batches)
        assert expected < head, "the schedule must leave batches to crash in"
        next_transfer = next_batch_first_transfer(node.app, expected)
        crash = ("--crash-at", crash_at, "--after-batches", str(after_batches))
        returncode = run_child(node.database_url, env, *crash)
        assert returncode == -signal.SIGKILL, (crash_at, after_batches, returncode)
        assert position() == expected  # the batches asked for committed, the next one did not
        if crash_at == "postings_after_ledger":
            acknowledged.add(next_transfer)
        posted = ledger.lookup_transfers([next_transfer]) != []
        assert posted == (next_transfer in acknowledged), (crash_at, after_batches)
        kills += 1
    assert run_child(node.database_url, env) == 0
    assert position() == head
    return kills


@pytest.mark.slow(30)
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

    kills = crash_and_restart(node, ledger, head, runner.position)

    assert kills == len(CRASHES)
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
    [comparison] = compare_balances(ledger, Chart(), node.read_side().all_balances(peer))
    assert comparison.matches, comparison
