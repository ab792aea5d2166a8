"""`settle ledger balances` as a user runs it, against the embedded PostgreSQL ledger."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from application.app import SettlementApp
from application.event_store import postgres_env
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry
from entrypoints.cli import main
from tests.support import account_settlements as settle


@pytest.fixture
def env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SETTLE_LEDGER__BACKEND", "postgres")
    return database_url


def record(database_url: str, peer: str) -> None:
    app = SettlementApp(env=postgres_env(database_url))
    try:
        account_id = app.open_peer_account(peer, Asset("USD", 2), 10**6, 0, 10**6)
        entries = [
            PacketEntry("p1", Direction.OUTGOING, 120),
            PacketEntry("p2", Direction.INCOMING, 45),
        ]
        app.record_packets(peer, "USD", "b1", entries)
        settle.reserve(app, account_id, uuid.uuid4(), 20)
    finally:
        app.close()


def test_ledger_balances_match_the_read_model(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    record(env, "alice")
    record(env, "bob")
    assert main(["--json", "ledger", "balances", "--peer", "alice"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["peer_id"] == "alice"
    assert (row["payable"], row["ledger_payable"]) == (100, 100)
    assert (row["receivable"], row["ledger_receivable"]) == (45, 45)
    assert (row["in_flight"], row["ledger_in_flight"]) == (20, 20)
    assert row["matches"] is True


def test_a_difference_exits_1_and_shows_both_figures(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    record(env, "alice")
    assert main(["ledger", "balances"]) == 0
    capsys.readouterr()
    with psycopg.connect(env) as conn:
        conn.execute("UPDATE balances SET payable = payable + 1 WHERE peer_id = 'alice'")
    assert main(["--json", "ledger", "balances"]) == 1
    [row] = json.loads(capsys.readouterr().out)
    assert (row["payable"], row["ledger_payable"], row["matches"]) == (101, 100, False)


def test_an_unknown_peer_is_a_clear_failure(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ledger", "balances", "--peer", "nobody"]) == 1
    assert "--peer 'nobody'" in capsys.readouterr().err
