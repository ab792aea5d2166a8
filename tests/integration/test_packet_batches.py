"""Packet batch idempotency on PostgreSQL (issue 14): the `packet_batches` row is written in the
transaction of the batch's event, so neither is ever stored without the other; duplicates,
conflicts and concurrent replays; retention; and batches recorded before migration 0085.
"""

from __future__ import annotations

import json
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from adapters.postgres.migrations import MIGRATIONS_DIR, apply_migrations
from application.app import SettlementApp
from application.batch_index import RETENTION_MARGIN
from application.event_store import postgres_env
from domain.errors import BatchConflict
from domain.money import Asset
from domain.peer_account import BatchResult, Direction, PacketEntry, PeerAccount
from tests.unit.compat import peer_account_histories
from tests.unit.compat.recording import load_fixture

OUT, IN = Direction.OUTGOING, Direction.INCOMING
ALICE = PeerAccount.create_id("alice", "USD")


def packets(*amounts: tuple[Direction, int], prefix: str = "p") -> list[PacketEntry]:
    return [PacketEntry(f"{prefix}{i}", d, a) for i, (d, a) in enumerate(amounts)]


def count(url: str, sql: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


def recorded_events(url: str) -> int:
    return count(
        url,
        "SELECT count(*) FROM settlementledger_events"
        " WHERE topic = 'domain.peer_account:PeerAccount.PacketsRecorded'",
    )


def test_duplicates_and_conflicts_are_answered_from_the_table(database_url: str) -> None:
    app = SettlementApp(env=postgres_env(database_url))
    try:
        app.open_peer_account("alice", Asset("USD", 2), 1000, 100, 5000)
        first = app.record_packets("alice", "USD", "b1", packets((OUT, 1200), (IN, 40)))
        app.record_packets("alice", "USD", "b2", packets((OUT, 3), prefix="q"))
        app._evict(ALICE)  # as another process would: from the database, not the cache
        again = app.record_packets("alice", "USD", "b1", packets((OUT, 1200), (IN, 40)))
        with pytest.raises(BatchConflict):
            app.record_packets("alice", "USD", "b1", packets((OUT, 1201), (IN, 40)))
    finally:
        app.close()
    assert again.duplicate and (again.payable, again.receivable) == (1200, 40)
    assert again.threshold_crossed and first.threshold_crossed
    assert recorded_events(database_url) == 2
    assert count(database_url, "SELECT count(*) FROM packet_batches") == 2


def test_two_processes_recording_the_same_batch_at_once_record_it_once(database_url: str) -> None:
    apps = [SettlementApp(env=postgres_env(database_url, pool_size=2)) for _ in range(2)]
    try:
        apps[0].open_peer_account("alice", Asset("USD", 2), 10**9, 0, 10**9)
        for app in apps:
            app.peer_account("alice", "USD")  # both have the account cached at the same version
        results = []
        for round_ in range(20):
            barrier = threading.Barrier(2)
            entries = packets((OUT, 5), (IN, 2), prefix=f"r{round_}-")

            def record(
                app: SettlementApp,
                batch: str = f"b{round_}",
                e: list[PacketEntry] = entries,
                barrier: threading.Barrier = barrier,
            ) -> BatchResult:
                barrier.wait()
                return app.record_packets("alice", "USD", batch, e)

            with ThreadPoolExecutor(2) as pool:
                results.append(list(pool.map(record, apps)))
    finally:
        for app in apps:
            app.close()
    for pair in results:
        assert sorted(r.duplicate for r in pair) == [False, True]
        assert pair[0].payable == pair[1].payable and pair[0].receivable == pair[1].receivable
    assert recorded_events(database_url) == 20
    assert count(database_url, "SELECT count(*) FROM packet_batches") == 20


def test_when_the_row_cannot_be_written_the_event_is_not_written_either(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("ALTER TABLE packet_batches ADD CONSTRAINT fail CHECK (batch_id <> 'boom')")
    app = SettlementApp(env=postgres_env(database_url))
    try:
        app.open_peer_account("alice", Asset("USD", 2), 1000, 100, 5000)
        with pytest.raises(IntegrityError):
            app.record_packets("alice", "USD", "boom", packets((OUT, 10)))
        assert app.peer_account("alice", "USD").payable == 0
    finally:
        app.close()
    assert recorded_events(database_url) == 0


def test_retention_deletes_rows_made_before_the_window(database_url: str) -> None:
    app = SettlementApp(env=postgres_env(database_url))
    try:
        app.open_peer_account("alice", Asset("USD", 2), 10**9, 0, 5000)
        now = app.clock()
        app.record_packets(
            "alice", "USD", "old", packets((OUT, 1)), made_at=now - timedelta(hours=23)
        )
        app.record_packets("alice", "USD", "new", packets((OUT, 1), prefix="n"), made_at=now)
        app.clock = lambda: now + timedelta(hours=2) + RETENTION_MARGIN
        assert app.forget_expired_batches() == 1
        assert app.batch_index.find(ALICE, "old") is None
        assert app.batch_index.find(ALICE, "new") is not None
    finally:
        app.close()


def _stored(record: dict[str, object]) -> StoredEvent:
    return StoredEvent(
        originator_id=UUID(str(record["originator_id"])),
        originator_version=int(str(record["originator_version"])),
        topic=str(record["topic"]),
        state=json.dumps(record["state"], separators=(",", ":")).encode(),
    )


def test_batches_recorded_by_the_old_code_are_recognised_after_the_migration(
    empty_database_url: str, tmp_path: Path
) -> None:
    before = tmp_path / "migrations"
    before.mkdir()
    for path in MIGRATIONS_DIR.glob("*.sql"):
        if path.name < "0085":
            shutil.copy(path, before)
    apply_migrations(empty_database_url, before)
    [history] = load_fixture(peer_account_histories.FIXTURE)["histories"]
    app = SettlementApp(env=postgres_env(empty_database_url))
    try:
        app.recorder.insert_events([_stored(e) for e in history["events"]])  # as stored before
        assert apply_migrations(empty_database_url)  # 0085 copies the batches from the events
        again = app.record_packets(
            "alice", "USD", "b1", [PacketEntry("p1", OUT, 1200), PacketEntry("p2", IN, 300)]
        )
        with pytest.raises(BatchConflict):
            app.record_packets("alice", "USD", "b2", [PacketEntry("p3", OUT, 501)])
    finally:
        app.close()
    assert again.duplicate and again.threshold_crossed
    assert (again.payable, again.receivable, again.outgoing_total) == (1200, 300, 1200)
    assert recorded_events(empty_database_url) == 2
