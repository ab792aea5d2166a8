"""A channel's observed logs and transactions on PostgreSQL (issue 14): their rows are written in
the transaction of the channel's event, so neither is ever stored without the other; a log seen
again, even by two processes at once, is recorded once; and the logs and transactions recorded
by the code before migration 0095 are recognised after it.
"""

from __future__ import annotations

import json
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError

from adapters.postgres.migrations import MIGRATIONS_DIR, apply_migrations
from application.app import SettlementApp
from application.event_store import postgres_env
from domain.channel import Channel, ChannelState
from tests.unit.compat.channel_recording import FIXTURE, stored

OURS = "0x00000000000000000000000000000000000000aa"
THEIRS = "0x00000000000000000000000000000000000000bb"


def count(url: str, sql: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


def deposit_events(url: str) -> int:
    return count(
        url,
        "SELECT count(*) FROM settlementledger_events"
        " WHERE topic = 'domain.channel:Channel.DepositObserved'",
    )


def opened_channel(app: SettlementApp) -> UUID:
    channel = Channel.request_open("k", "bob", "USD", 1, "0xtn", OURS, THEIRS, 600)
    app.create(channel)
    app.record_channel_opened(channel.id, 7, "0xo1", 0)
    return channel.id


def test_a_log_seen_again_is_answered_from_the_table(database_url: str) -> None:
    app = SettlementApp(env=postgres_env(database_url))
    try:
        channel_id = opened_channel(app)
        assert app.record_deposit(channel_id, OURS, 100, "0xAB", 2) is True
        app._evict(channel_id)  # as another process would: from the database, not the cache
        assert app.record_deposit(channel_id, OURS, 100, "0xab", 2) is False
        assert app.channel(channel_id).our_deposit == 100
    finally:
        app.close()
    assert deposit_events(database_url) == 1
    assert count(database_url, "SELECT count(*) FROM channel_observed_logs") == 2


def test_two_processes_recording_the_same_log_at_once_record_it_once(database_url: str) -> None:
    apps = [SettlementApp(env=postgres_env(database_url, pool_size=2)) for _ in range(2)]
    try:
        channel_id = opened_channel(apps[0])
        results = []
        for n in range(1, 16):
            for app in apps:
                app.channel(channel_id)  # both have the channel cached at the same version
            barrier = threading.Barrier(2)

            def record(
                app: SettlementApp, n: int = n, barrier: threading.Barrier = barrier
            ) -> bool:
                barrier.wait()
                return app.record_deposit(channel_id, OURS, 10 * n, f"0xd{n}", 0)

            with ThreadPoolExecutor(2) as pool:
                results.append(sorted(pool.map(record, apps)))
    finally:
        for app in apps:
            app.close()
    assert results == [[False, True]] * 15
    assert deposit_events(database_url) == 15


def test_when_a_log_row_cannot_be_written_the_event_is_not_written_either(
    database_url: str,
) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "ALTER TABLE channel_observed_logs ADD CONSTRAINT fail CHECK (tx_hash <> '0xboom')"
        )
    app = SettlementApp(env=postgres_env(database_url))
    try:
        channel_id = opened_channel(app)
        with pytest.raises(IntegrityError):
            app.record_deposit(channel_id, OURS, 100, "0xboom", 0)
        assert app.channel(channel_id).our_deposit == 0
    finally:
        app.close()
    assert deposit_events(database_url) == 0
    assert count(database_url, "SELECT count(*) FROM channel_observed_logs") == 1  # the open


def test_when_a_transaction_row_cannot_be_written_the_event_is_not_written_either(
    database_url: str,
) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("ALTER TABLE channel_transactions ADD CONSTRAINT fail CHECK (nonce <> 13)")
    app = SettlementApp(env=postgres_env(database_url))
    try:
        channel_id = opened_channel(app)
        signed = _Signed("0xt1", b"\x01", OURS, 13)
        with pytest.raises(IntegrityError):
            app.record_transaction_signed(channel_id, "deposit:5", signed)
        assert app.channel(channel_id).transactions == {}
    finally:
        app.close()
    signed_events = count(
        database_url,
        "SELECT count(*) FROM settlementledger_events"
        " WHERE topic = 'domain.channel:Channel.TransactionSigned'",
    )
    assert signed_events == 0


class _Signed:
    def __init__(self, tx_hash: str, raw: bytes, sender: str, nonce: int) -> None:
        self.purpose = "deposit:5"
        self.tx_hash, self.raw_transaction, self.sender, self.nonce = tx_hash, raw, sender, nonce


def test_logs_and_transactions_recorded_by_the_old_code_are_recognised_after_the_migration(
    empty_database_url: str, tmp_path: Path
) -> None:
    before = tmp_path / "migrations"
    before.mkdir()
    for path in MIGRATIONS_DIR.glob("*.sql"):
        if path.name < "0095":
            shutil.copy(path, before)
    apply_migrations(empty_database_url, before)
    main: dict[str, Any] = json.loads(FIXTURE.read_text())["aggregates"][0]
    channel_id = UUID(main["id"])
    app = SettlementApp(env=postgres_env(empty_database_url))
    try:
        # As the old code stored them: events and a snapshot holding every log and transaction.
        app.recorder.insert_events([stored(r) for r in main["events"]])
        assert app.snapshots is not None and main["snapshots"]
        app.snapshots.recorder.insert_events([stored(r) for r in main["snapshots"]])
        assert apply_migrations(empty_database_url)  # 0095 copies logs and transactions
        channel = app.channel(channel_id)
        assert channel.state == ChannelState.SETTLED
        assert channel.transactions == {} and channel.transactions_signed == 3
        # A settled channel would refuse a deposit: a known log is recognised before that.
        assert app.record_deposit(channel_id, OURS, 1000, "0xA2", 0) is False
        assert app.record_channel_payout(channel_id, THEIRS, 730, 270, "0xc1", 5) is False
        assert app.record_transaction_confirmed(channel_id, "0xt2", 99, True) is False
        assert app.record_transaction_dropped(channel_id, "0xt1", "again") is False
        live = app.live_transaction(channel_id, "close")
        assert live is not None and live[0] == "0xt2"
        assert app.live_transaction(channel_id, "settle") is None  # it reverted
        rows = [(r.tx_hash, r.succeeded, r.dropped) for r in app.recorded_transactions(channel_id)]
    finally:
        app.close()
    assert rows == [("0xt1", False, True), ("0xt2", True, False), ("0xt3", False, False)]
    assert count(empty_database_url, "SELECT count(*) FROM channel_observed_logs") == 6
