"""Received-claim idempotency on PostgreSQL (issue 14): the `received_claims` row is written in
the transaction of the claim's event, so neither is ever stored without the other; duplicates,
conflicts and a concurrent duplicate; retention; and claims credited before migration 0090.
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
from application.claims_credit import CreditResult, CreditVerdict
from application.event_store import postgres_env
from domain.peer_account import PeerAccount
from tests.support.claim_world import (
    ALICE,
    claim,
    open_account,
    open_channel,
    send,
    settle_channel,
)
from tests.unit.compat import peer_account_histories
from tests.unit.compat.recording import load_fixture

CREDITS = (
    "SELECT count(*) FROM settlementledger_events"
    " WHERE topic = 'domain.peer_account:PeerAccount.SettlementReceived'"
)


def count(url: str, sql: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


def test_duplicates_and_conflicts_are_answered_from_the_table(database_url: str) -> None:
    app = SettlementApp(env=postgres_env(database_url))
    try:
        open_account(app)
        channel = open_channel(app)
        first = claim("c1", 1, 5, 5)
        assert send(app, channel, first) == CreditResult(CreditVerdict.CREDITED, 5)
        app._evict(ALICE)  # as another process would: from the database, not the cache
        assert send(app, channel, first) == CreditResult(CreditVerdict.DUPLICATE, 5)
        assert send(app, channel, claim("c1", 2, 9, 4, fp="x")).verdict is CreditVerdict.CONFLICT
        row = app.received_claim(ALICE, "c1")
        receivable = app.peer_account("alice", "USD").receivable
    finally:
        app.close()
    assert row is not None and (row.fingerprint, row.amount, row.channel_id) == (
        "fp-c1",
        5,
        channel,
    )
    assert receivable == 10**6 - 5
    assert count(database_url, CREDITS) == 1
    assert count(database_url, "SELECT count(*) FROM received_claims") == 1


def test_two_processes_crediting_the_same_claim_at_once_credit_it_once(database_url: str) -> None:
    apps = [SettlementApp(env=postgres_env(database_url, pool_size=2)) for _ in range(2)]
    try:
        open_account(apps[0])
        channel = open_channel(apps[0])
        verdicts = []
        for n in range(1, 16):
            for app in apps:  # both have both aggregates cached at the same version
                app.peer_account("alice", "USD")
                app.channel(channel)
            barrier = threading.Barrier(2)
            same = claim(f"c{n}", n, n, 1)

            def credit(app: SettlementApp, barrier: threading.Barrier = barrier) -> CreditVerdict:
                barrier.wait()
                return send(app, channel, same).verdict  # noqa: B023 (called in this round)

            with ThreadPoolExecutor(2) as pool:
                verdicts.append(sorted(pool.map(credit, apps)))
        apps[1]._evict(ALICE)
        receivable = apps[1].peer_account("alice", "USD").receivable
    finally:
        for app in apps:
            app.close()
    assert verdicts == [sorted([CreditVerdict.CREDITED, CreditVerdict.DUPLICATE])] * 15
    assert receivable == 10**6 - 15
    assert count(database_url, CREDITS) == 15


def test_when_the_row_cannot_be_written_the_event_is_not_written_either(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("ALTER TABLE received_claims ADD CONSTRAINT fail CHECK (claim_id <> 'boom')")
    app = SettlementApp(env=postgres_env(database_url))
    try:
        open_account(app)
        channel = open_channel(app)
        with pytest.raises(IntegrityError):
            send(app, channel, claim("boom", 1, 5, 5))
        assert app.peer_account("alice", "USD").receivable == 10**6
        assert app.channel(channel).partner_nonce == 0  # nor the proof saved with it
    finally:
        app.close()
    assert count(database_url, CREDITS) == 0


def test_retention_deletes_only_rows_of_settled_channels_older_than_the_window(
    database_url: str,
) -> None:
    app = SettlementApp(env=postgres_env(database_url))
    try:
        open_account(app)
        settled, still_open = open_channel(app, "k1"), open_channel(app, "k2")
        send(app, settled, claim("on-settled", 1, 5, 5))
        send(app, still_open, claim("on-open", 1, 5, 5))
        app.receive_settlement(ALICE, "no-channel", 3)
        settle_channel(app, settled)
        now = app.clock()
        assert app.forget_expired_claims() == 0  # settled, but inside the window
        app.clock = lambda: now + app.claim_window + timedelta(minutes=1)
        assert app.forget_expired_claims() == 1
        kept = app.credited_claims(ALICE)
        late = send(app, settled, claim("on-settled", 1, 5, 5))
        account = app.peer_account("alice", "USD")
    finally:
        app.close()
    assert set(kept) == {"on-open", "no-channel"}
    assert late.verdict is CreditVerdict.CHANNEL_NOT_OPEN  # refused, not credited again
    assert account.receivable == 10**6 - 13 and account.paused_reason is None


def _stored(record: dict[str, object]) -> StoredEvent:
    return StoredEvent(
        originator_id=UUID(str(record["originator_id"])),
        originator_version=int(str(record["originator_version"])),
        topic=str(record["topic"]),
        state=json.dumps(record["state"], separators=(",", ":")).encode(),
    )


def _migrations_before(tmp_path: Path, version: str) -> Path:
    before = tmp_path / "migrations"
    before.mkdir()
    for path in MIGRATIONS_DIR.glob("*.sql"):
        if path.name < version:
            shutil.copy(path, before)
    return before


def test_claims_credited_by_the_old_code_are_recognised_after_the_migration(
    empty_database_url: str, tmp_path: Path
) -> None:
    apply_migrations(empty_database_url, _migrations_before(tmp_path, "0090"))
    [history] = load_fixture(peer_account_histories.FIXTURE)["histories"]
    app = SettlementApp(env=postgres_env(empty_database_url))
    try:
        app.recorder.insert_events([_stored(e) for e in history["events"]])  # as stored before
        assert apply_migrations(empty_database_url)  # 0090 copies the claims from the events
        account = app.load(ALICE, PeerAccount)  # the old history still loads
        again = app.receive_settlement(ALICE, "claim-1", 100)
        older = app.receive_settlement(ALICE, "claim-0", 50)
        rows = [app.received_claim(ALICE, c) for c in ("claim-1", "claim-0")]
    finally:
        app.close()
    assert "claims_received" not in vars(account)
    assert (again, older) == (False, False)  # duplicates, not credited again
    assert [(r.fingerprint, r.amount, r.channel_id) for r in rows if r] == [
        ("fp:claim-1", 100, None),
        ("", 50, None),
    ]


def test_the_migration_takes_the_channel_from_the_proof_saved_with_the_credit(
    database_url: str,
) -> None:
    app = SettlementApp(env=postgres_env(database_url))
    try:
        open_account(app)
        channel = open_channel(app)
        send(app, channel, claim("c1", 1, 5, 5))
        app.receive_settlement(ALICE, "s1", 2)
    finally:
        app.close()
    with psycopg.connect(database_url) as conn:
        conn.execute("DROP TABLE received_claims")
        conn.execute((MIGRATIONS_DIR / "0090_received_claims.sql").read_text())
        rows = conn.execute(
            "SELECT claim_id, fingerprint, amount, channel_id FROM received_claims"
            " ORDER BY claim_id"
        ).fetchall()
    assert rows == [("c1", "fp-c1", 5, channel), ("s1", "", 2, None)]
