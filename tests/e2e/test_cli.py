import json
from pathlib import Path

import psutil
import psycopg

from tests.e2e.conftest import Settle, run_settle


def _postgres_processes_under(path: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(attrs=["name", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.info["name"] == "postgres" and str(path) in cmdline:
            found.append(proc)
    return found


def test_demo_runs_on_embedded_defaults_and_stops_its_server(tmp_path: Path) -> None:
    result = run_settle(
        "demo", "--batches", "4", "--batch-size", "50", env={"SETTLE_DATA_DIR": str(tmp_path)}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "recorded 1000 packets in 20 batches" in result.stdout
    assert "channels opened at registration: 5" in result.stdout
    assert "balances" in result.stdout and "alice" in result.stdout
    for check in (
        "ledger equals the balances read model",
        "read models equal a replay of the events",
        "each peer's receivable equals what we owe it",
        "on-chain deposits equal the recorded ones",
    ):
        assert f"ok  {check}" in result.stdout
    assert "not part of this demo" in result.stdout
    assert (tmp_path / "postgres" / "PG_VERSION").exists()
    assert _postgres_processes_under(tmp_path) == []


def test_demo_settles_every_peer_and_its_history_explains_the_balances(settle: Settle) -> None:
    result = settle("--json", "demo", "--batches", "6", "--batch-size", "200")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    balances, settlements = report["balances"], report["settlements"]
    assert all(report["checks"].values()) and len(report["checks"]) == 4
    assert {row["peer_id"] for row in balances} == {"alice", "bob", "carol", "dave", "erin"}
    assert settlements and all(s["status"] == "completed" for s in settlements)
    assert {s["peer_id"] for s in settlements} == {row["peer_id"] for row in balances}
    replayed = settle("replay")
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "no differences" in replayed.stdout
    history = settle("--json", "history", "alice/USD")
    events = json.loads(history.stdout)
    assert events[0]["event"] == "PeerAccount.Opened"
    recorded = sum(
        e["payload"]["outgoing_total"]
        for e in events
        if e["event"] == "PeerAccount.PacketsRecorded"
    )
    alice = next(row for row in balances if row["peer_id"] == "alice")
    paid = sum(s["amount"] for s in settlements if s["peer_id"] == "alice")
    assert alice["payable"] + alice["in_flight"] + paid == recorded


def test_replay_exits_non_zero_and_names_the_difference(settle: Settle, database_url: str) -> None:
    assert settle("demo", "--batches", "2", "--batch-size", "10").returncode == 0
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE balances SET receivable = receivable + 5 WHERE peer_id = 'carol'")
    result = settle("--json", "replay")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["clean"] is False
    [difference] = report["differences"]
    assert difference["table"] == "balances"
    assert difference["live"]["receivable"] == difference["rebuilt"]["receivable"] + 5


def test_bad_configuration_is_one_line_naming_the_setting_exit_2(settle: Settle) -> None:
    result = settle("balances", env={"SETTLE_PROJECTION_BATCH_SIZE": "0"})
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "SETTLE_PROJECTION_BATCH_SIZE" in result.stderr


def test_bad_input_names_the_field_and_exits_2(settle: Settle) -> None:
    stuck = settle("settlements", "--stuck", "soon")
    assert stuck.returncode == 2 and "--stuck" in stuck.stderr
    history = settle("history", "not-an-id")
    assert history.returncode == 2 and "not-an-id" in history.stderr
    status = settle("settlements", "--status", "bogus")
    assert status.returncode == 2 and "--status" in status.stderr


def test_migrate_twice_applies_nothing_the_second_time(settle: Settle) -> None:
    first = settle("--json", "migrate")
    assert first.returncode == 0
    assert json.loads(first.stdout) == []  # the test database is already migrated
    settle_tables = settle("--json", "settlements")
    assert settle_tables.returncode == 0 and json.loads(settle_tables.stdout) == []
