"""Recorded packet batches are kept in the batch index, not in the account (issue 14): replays and
conflicts within the idempotency window, refusal outside it, retention, and small snapshots.
The in-memory store's index is used here; tests/integration/test_packet_batches.py has PostgreSQL's.
"""

from datetime import timedelta

import pytest

from application.app import SettlementApp
from application.batch_index import MAX_FUTURE_SKEW, RETENTION_MARGIN, BatchOutsideWindow
from application.clock import ManualClock
from domain.errors import BatchConflict
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry, PeerAccount

OUT, IN = Direction.OUTGOING, Direction.INCOMING


@pytest.fixture
def app() -> SettlementApp:
    app = SettlementApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.clock = ManualClock()
    app.open_peer_account("alice", Asset("USD", 2), 1000, 100, 5000)
    return app


def packets(*amounts: tuple[Direction, int], prefix: str = "p") -> list[PacketEntry]:
    return [PacketEntry(f"{prefix}{i}", d, a) for i, (d, a) in enumerate(amounts)]


def events(app: SettlementApp) -> list[str]:
    return [type(e).__name__ for e in app.history(PeerAccount.create_id("alice", "USD"))]


def test_a_replay_answers_the_first_result_even_after_later_batches(app: SettlementApp) -> None:
    first = app.record_packets("alice", "USD", "b1", packets((OUT, 1200), (IN, 30)))
    app.record_packets("alice", "USD", "b2", packets((OUT, 7), prefix="q"))
    again = app.record_packets("alice", "USD", "b1", packets((OUT, 1200), (IN, 30)))
    assert again.duplicate and not first.duplicate
    assert (again.payable, again.receivable, again.threshold_crossed) == (1200, 30, True)
    assert (again.incoming_total, again.outgoing_total) == (30, 1200)
    assert events(app).count("PacketsRecorded") == 2
    assert app.peer_account("alice", "USD").payable == 1207


def test_other_entries_under_a_recorded_id_are_a_conflict(app: SettlementApp) -> None:
    app.record_packets("alice", "USD", "b1", packets((OUT, 10)))
    with pytest.raises(BatchConflict):
        app.record_packets("alice", "USD", "b1", packets((OUT, 11)))
    assert app.peer_account("alice", "USD").payable == 10


def test_a_batch_made_before_the_window_is_refused_and_nothing_written(
    app: SettlementApp,
) -> None:
    now = app.clock()
    before = len(events(app))
    too_old = now - app.batch_window - timedelta(seconds=1)
    with pytest.raises(BatchOutsideWindow) as raised:
        app.record_packets("alice", "USD", "b1", packets((OUT, 10)), made_at=too_old)
    assert "b1" in str(raised.value) and "24 h window" in str(raised.value)
    with pytest.raises(BatchOutsideWindow, match="in the future"):
        future = now + MAX_FUTURE_SKEW + timedelta(seconds=1)
        app.record_packets("alice", "USD", "b1", packets((OUT, 10)), made_at=future)
    assert len(events(app)) == before and len(app.batch_index) == 0  # type: ignore[arg-type]


def test_retention_forgets_only_batches_whose_replay_would_be_refused(app: SettlementApp) -> None:
    clock = app.clock
    assert isinstance(clock, ManualClock)
    app.record_packets("alice", "USD", "old", packets((OUT, 1)), made_at=clock())
    clock.advance(timedelta(hours=2))
    app.record_packets("alice", "USD", "new", packets((OUT, 1), prefix="n"), made_at=clock())
    clock.advance(app.batch_window + RETENTION_MARGIN - timedelta(hours=1))
    assert app.forget_expired_batches() == 1
    with pytest.raises(BatchOutsideWindow):  # a replay of the forgotten one is refused
        app.record_packets(
            "alice", "USD", "old", packets((OUT, 1)), made_at=clock() - timedelta(hours=26)
        )
    again = app.record_packets("alice", "USD", "new", packets((OUT, 1), prefix="n"))
    assert again.duplicate


def test_a_batch_sent_without_made_at_is_never_forgotten_so_a_late_replay_is_recognised(
    app: SettlementApp,
) -> None:
    clock = app.clock
    assert isinstance(clock, ManualClock)
    first = app.record_packets("alice", "USD", "undated", packets((OUT, 5)))
    app.record_packets("alice", "USD", "dated", packets((OUT, 1), prefix="d"), made_at=clock())
    clock.advance(app.batch_window * 10)
    assert app.forget_expired_batches() == 1  # only the dated one
    again = app.record_packets("alice", "USD", "undated", packets((OUT, 5)))
    assert again.duplicate and again.payable == first.payable
    assert events(app).count("PacketsRecorded") == 2
    assert app.peer_account("alice", "USD").payable == 6


def test_the_snapshot_does_not_grow_with_the_number_of_batches() -> None:
    def snapshot_size(batches: int) -> int:
        app = SettlementApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
        account_id = app.open_peer_account("bob", Asset("USD", 2), 10**15, 0, 0)
        for n in range(batches):
            app.record_packets("bob", "USD", f"batch-{n:06d}", packets((OUT, 1), prefix=f"{n}-"))
        app.take_snapshot(account_id)
        assert app.snapshots is not None
        *_, last = app.snapshots.recorder.select_events(account_id)
        return len(last.state)

    assert snapshot_size(2000) <= snapshot_size(100) + 16  # digits of counters only
