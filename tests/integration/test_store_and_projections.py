"""The event store on PostgreSQL and the read models fed from it with tracking records."""

import threading
from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest

from application.app import SettlementApp
from application.clock import ManualClock
from application.processes.settlement_monitor import SettlementMonitor
from application.store import AlreadyExists
from bootstrap.node import Node, open_node
from bootstrap.replay import replay
from bootstrap.settings import Settings
from domain.errors import BatchConflict
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry
from projections.balances import BalancesProjection
from projections.runner import ProjectionRunner

USD = Asset("USD", 2)


@pytest.fixture
def node(database_url: str) -> Iterator[Node]:
    with open_node(Settings(database_url=database_url)) as n:
        yield n


def packets(tag: str, *amounts: tuple[Direction, int]) -> list[PacketEntry]:
    return [PacketEntry(f"{tag}-{i}", d, a) for i, (d, a) in enumerate(amounts)]


def record_many(app: SettlementApp, peer: str, batches: int, outgoing: int = 10) -> None:
    for b in range(batches):
        entries = packets(f"{peer}{b}", (Direction.OUTGOING, outgoing), (Direction.INCOMING, 1))
        app.record_packets(peer, "USD", f"{peer}-b{b}", entries)


def test_events_survive_a_new_application_instance_with_snapshots(node: Node) -> None:
    node.app.open_peer_account("alice", USD, 10**9, 0, 10**9)
    record_many(node.app, "alice", 450)
    fresh = SettlementApp(env=node.app.env)
    account = fresh.peer_account("alice", "USD")
    assert (account.payable, account.receivable, account.version) == (4500, 450, 451)
    with psycopg.connect(node.database_url) as conn:
        snapshots = conn.execute("SELECT count(*) FROM settlementledger_snapshots").fetchone()
    assert snapshots is not None and snapshots[0] >= 2
    fresh.close()


def test_batch_replayed_after_restart_is_a_no_op_and_conflict_is_refused(node: Node) -> None:
    node.app.open_peer_account("alice", USD, 10**9, 0, 10**9)
    first = node.app.record_packets("alice", "USD", "b1", packets("x", (Direction.OUTGOING, 7)))
    fresh = SettlementApp(env=node.app.env)
    again = fresh.record_packets("alice", "USD", "b1", packets("x", (Direction.OUTGOING, 7)))
    assert again.duplicate and again.payable == first.payable == 7
    with pytest.raises(BatchConflict):
        fresh.record_packets("alice", "USD", "b1", packets("x", (Direction.OUTGOING, 8)))
    assert len(fresh.history(fresh.peer_account("alice", "USD").id)) == 2
    fresh.close()


def test_reopening_an_account_with_other_terms_is_refused(node: Node) -> None:
    first = node.app.open_peer_account("alice", USD, 100, 0, 100)
    assert node.app.open_peer_account("alice", USD, 100, 0, 100) == first
    with pytest.raises(AlreadyExists, match="other terms"):
        node.app.open_peer_account("alice", USD, 200, 0, 100)


def test_balances_projection_applies_each_event_once_across_restarts(node: Node) -> None:
    node.app.open_peer_account("alice", USD, 10**9, 0, 10**9)
    record_many(node.app, "alice", 30)
    runner = ProjectionRunner(node.app, node.pool, BalancesProjection(), batch_size=7)
    assert runner.run_once() == 7  # many events per transaction, up to the batch size
    runner.close()
    restarted = ProjectionRunner(node.app, node.pool, BalancesProjection(), batch_size=7)
    assert restarted.catch_up() == 31 - 7
    assert restarted.catch_up() == 0
    record_many(node.app, "bob", 0)
    [row] = node.read_side().all_balances()
    assert (row["payable"], row["receivable"]) == (300, 30)
    restarted.close()


def test_two_runners_of_one_projection_never_apply_an_event_twice(node: Node) -> None:
    node.app.open_peer_account("alice", USD, 10**9, 0, 10**9)
    record_many(node.app, "alice", 200)
    runners = [
        ProjectionRunner(node.app, node.pool, BalancesProjection(), batch_size=5) for _ in range(3)
    ]
    threads = [threading.Thread(target=r.catch_up) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    [row] = node.read_side().all_balances()
    assert (row["payable"], row["receivable"]) == (2000, 200)
    for r in runners:
        r.close()


def test_monitor_requests_one_settlement_per_crossing_and_none_while_active(node: Node) -> None:
    clock = ManualClock()
    app = node.app
    app.open_peer_account("alice", USD, threshold=100, settle_to=20, credit_limit=10)
    app.record_packets("alice", "USD", "b1", packets("a", (Direction.OUTGOING, 150)))
    monitor = node.runner(SettlementMonitor(app, clock))
    monitor.catch_up()
    # The request reserves the amount, dropping payable below the threshold; it crosses again
    # while the first settlement is active, and no second one is requested then.
    [first] = queries_settlements(node)
    assert first["amount"] == 130 and first["status"] == "requested"
    crossed = app.record_packets("alice", "USD", "b2", packets("b", (Direction.OUTGOING, 90)))
    assert crossed.threshold_crossed
    monitor.catch_up()
    assert len(queries_settlements(node)) == 1
    # Once it is over (timed out, its amount released), payable 240 is above the threshold:
    # the next settlement is requested then, for everything owed down to settle-to.
    app.time_out_settlement(first["settlement_id"], clock())
    monitor.catch_up()
    settlements = queries_settlements(node)
    assert [s["amount"] for s in settlements] == [130, 220]


def test_monitor_replayed_from_scratch_requests_nothing_new(node: Node) -> None:
    clock = ManualClock()
    node.app.open_peer_account("alice", USD, threshold=100, settle_to=20, credit_limit=10)
    node.app.record_packets("alice", "USD", "b1", packets("a", (Direction.OUTGOING, 150)))
    node.runner(SettlementMonitor(node.app, clock)).catch_up()
    with psycopg.connect(node.database_url) as conn:
        conn.execute("DELETE FROM projection_tracking WHERE projection = 'settlement_monitor'")
        conn.execute("DELETE FROM monitor_active_settlements")
    clock.advance(timedelta(hours=1))
    node.runner(SettlementMonitor(node.app, clock)).catch_up()
    assert len(queries_settlements(node)) == 1


def test_stuck_settlements_are_found_by_age(node: Node) -> None:
    clock = ManualClock()
    account_id = node.app.open_peer_account("alice", USD, 100, 20, 10)
    node.app.request_settlement("s1", account_id, 10, clock())
    node.catch_up_read_models()
    now = clock() + timedelta(minutes=10)
    reads = node.read_side()
    assert len(reads.all_settlements(stuck_for=timedelta(minutes=5), now=now)) == 1
    assert reads.all_settlements(stuck_for=timedelta(minutes=15), now=now) == []
    assert len(reads.all_settlements(status="requested", peer_id="alice")) == 1


def test_replay_finds_no_difference_then_finds_a_row_altered_by_hand(node: Node) -> None:
    clock = ManualClock()
    node.app.open_peer_account("alice", USD, threshold=100, settle_to=20, credit_limit=10**6)
    node.app.open_peer_account("bob", USD, threshold=100, settle_to=20, credit_limit=10**6)
    record_many(node.app, "alice", 20)
    record_many(node.app, "bob", 5)
    node.runner(SettlementMonitor(node.app, clock)).catch_up()
    assert replay(node).clean
    with psycopg.connect(node.database_url) as conn:
        conn.execute("UPDATE balances SET payable = payable + 1 WHERE peer_id = 'bob'")
    report = replay(node)
    assert not report.clean
    [difference] = report.differences
    assert difference.table == "balances"
    assert difference.live is not None and difference.rebuilt is not None
    assert difference.live["payable"] == difference.rebuilt["payable"] + 1


def queries_settlements(node: Node) -> list[dict]:  # type: ignore[type-arg]
    node.catch_up_read_models()
    return node.read_side().all_settlements()
