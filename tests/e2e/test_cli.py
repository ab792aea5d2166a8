import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil  # type: ignore[import-untyped]
import psycopg

from adapters.postgres.embedded import EmbeddedPostgres
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


# Peer accounts and packet batches: what a connector feeds the ledger.

OPEN = ["--asset", "USD", "--scale", "2", "--threshold", "1000000", "--settle-to", "0"]
REGISTER = ["--rails", "anvil", "--claims-url", "http://127.0.0.1:1/claims"]
ALICE_AT = ("peer", "register", "alice", "--asset", "USD", "--address", "0x" + "11" * 20)
RAILS = json.dumps(
    {
        "rails": [
            {"name": "anvil", "chain_id": 31337, "estimated_cost": 1, "estimated_latency_ms": 1}
        ]
    }
)


def _events(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM settlementledger_events").fetchone()
    return int(row[0]) if row else 0


def _write(path: Path, packets: object) -> str:
    path.write_text(json.dumps(packets))
    return str(path)


def test_packet_ids_holding_tabs_and_newlines_cannot_pass_another_batch_off_as_a_duplicate(
    settle: Settle, tmp_path: Path
) -> None:
    assert settle("peer", "open", "p", *OPEN, "--credit-limit", "0").returncode == 0
    first = [{"packet_id": "x\toutgoing\t1\ny", "direction": "outgoing", "amount": 2}]
    second = [
        {"packet_id": "x", "direction": "outgoing", "amount": 1},
        {"packet_id": "y", "direction": "outgoing", "amount": 2},
    ]
    record = ("--json", "packets", "record", "p", "--asset", "USD", "--batch-id", "B", "--file")
    assert settle(*record, _write(tmp_path / "1.json", first)).returncode == 0
    replay = settle(*record, _write(tmp_path / "1.json", first))
    assert replay.returncode == 0 and json.loads(replay.stdout)["duplicate"] is True
    forged = settle(*record, _write(tmp_path / "2.json", second))
    assert forged.returncode == 2, forged.stdout + forged.stderr
    assert "already recorded with different entries" in forged.stderr
    assert forged.stderr.strip().count("\n") == 0
    history = json.loads(settle("--json", "history", "p/USD").stdout)
    recorded = [e for e in history if e["event"] == "PeerAccount.PacketsRecorded"]
    assert [e["payload"]["entries"] for e in recorded] == [[["x\toutgoing\t1\ny", "outgoing", 2]]]


def test_bad_peer_and_packet_input_exits_2_on_one_line_naming_the_field_writing_nothing(
    settle: Settle, database_url: str, tmp_path: Path
) -> None:
    assert settle("peer", "open", "alice", *OPEN, "--credit-limit", "0").returncode == 0
    good = [{"packet_id": f"p{i}", "direction": "outgoing", "amount": 1} for i in range(3)]
    (tmp_path / "latin1.json").write_bytes(b'[{"packet_id": "caf\xe9"}]')
    (tmp_path / "broken.json").write_text('[{"packet_id": ')
    record = ("packets", "record", "alice", "--asset", "USD", "--batch-id", "B", "--file")
    cases: list[tuple[tuple[str, ...], dict[str, str], str]] = [
        ((*record, str(tmp_path / "latin1.json")), {}, "packets: not UTF-8"),
        ((*record, str(tmp_path / "broken.json")), {}, "packets: not JSON"),
        ((*record, str(tmp_path / "missing.json")), {}, "--file"),
        (
            (*record, _write(tmp_path / "neg.json", [{**good[0], "amount": -1}])),
            {},
            "packets[0].amount",
        ),
        (
            (*record, _write(tmp_path / "3.json", good)),
            {"SETTLE_PACKETS__MAX_BATCH_ENTRIES": "2"},
            "3 entries exceed the limit of 2 entries (SETTLE_PACKETS__MAX_BATCH_ENTRIES)",
        ),
        (
            (*record, _write(tmp_path / "3.json", good)),
            {"SETTLE_PACKETS__MAX_BATCH_BYTES": "100"},
            "limit of 100 bytes (SETTLE_PACKETS__MAX_BATCH_BYTES)",
        ),
        (("peer", "open", "  ", *OPEN, "--credit-limit", "0"), {}, "peer_id"),
        (("peer", "open", "ca\nrol", *OPEN, "--credit-limit", "0"), {}, "peer_id"),
        (
            ("peer", "open", "alice", *OPEN, "--credit-limit", "7"),
            {},
            "alice/USD already exists with other terms: credit_limit=7 (is 0)",
        ),
        (
            ("packets", "record", "carol", *record[3:], _write(tmp_path / "ok.json", good)),
            {},
            "no peer account carol/USD",
        ),
        (
            (
                "peer",
                "register",
                "carol",
                "--asset",
                "USD",
                "--address",
                "0x" + "11" * 20,
                *REGISTER,
            ),
            {"SETTLE_RAILS": RAILS},
            "no peer account carol/USD",
        ),
        (
            (*ALICE_AT, "--rails", "anvil,nope", "--claims-url", "http://127.0.0.1:1/claims"),
            {"SETTLE_RAILS": RAILS},
            "rail 'nope' is not configured; known rails: anvil",
        ),
        (
            (*ALICE_AT, *REGISTER),
            {},
            "rail 'anvil' is not configured; known rails: none (SETTLE_RAILS is empty)",
        ),
    ]
    before = _events(database_url)
    for args, env, named in cases:
        result = settle(*args, env=env)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert named in result.stderr, (args, result.stderr)
        assert result.stderr.strip().count("\n") == 0, result.stderr
        assert "Traceback" not in result.stderr
        assert _events(database_url) == before
    assert settle("packets", *record[1:], _write(tmp_path / "ok.json", good)).returncode == 0
    assert _events(database_url) == before + 1


def test_sigterm_while_recording_releases_the_embedded_server(tmp_path: Path) -> None:
    env = {"SETTLE_DATA_DIR": str(tmp_path)}
    opened = run_settle("peer", "open", "p", *OPEN, "--credit-limit", "0", env=env)
    assert opened.returncode == 0, opened.stderr
    packets = [{"packet_id": "a", "direction": "outgoing", "amount": 1}]
    batch = _write(tmp_path / "batch.json", packets)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SETTLE_")}
    environment.pop("DATABASE_URL", None)
    command = [str(Path(sys.executable).parent / "settle"), "packets", "record", "p"]
    command += ["--asset", "USD", "--batch-id", "B", "--file", batch]
    # A second handle on the same server keeps it up while the test holds the events table.
    with EmbeddedPostgres(tmp_path / "postgres") as server:
        with psycopg.connect(server.url("settlement")) as holder:
            holder.execute("LOCK TABLE settlementledger_events IN EXCLUSIVE MODE")
            recorder = subprocess.Popen(
                command,
                env={**environment, **env},
                stdin=subprocess.DEVNULL,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            try:
                _wait_until_blocked_on_the_lock(server.url("settlement"), recorder)
                recorder.send_signal(signal.SIGTERM)
                _, stderr = recorder.communicate(timeout=60)
            finally:
                if recorder.poll() is None:
                    recorder.kill()
            holder.rollback()
        assert recorder.returncode == 1 and "interrupted" in stderr, stderr
        handles = json.loads((tmp_path / "postgres" / ".handle_pids.json").read_text())
        assert recorder.pid not in handles  # it let go of the server as it stopped
    assert _postgres_processes_under(tmp_path) == []
    assert _events_of(tmp_path, env) == 1  # only the account was ever opened


def _wait_until_blocked_on_the_lock(url: str, process: subprocess.Popen[str]) -> None:
    """Returns once the recording process waits for the events table lock."""
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(6000):  # a bound, so that a regression fails instead of hanging
            if process.poll() is not None:
                break
            waiting = conn.execute(
                "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND query LIKE '%LOCK TABLE%settlementledger_events%'"
            ).fetchone()
            if waiting:
                return
            conn.execute("SELECT pg_sleep(0.05)")
    raise AssertionError(f"the recorder never waited for the lock: {process.poll()}")


def _events_of(tmp_path: Path, env: dict[str, str]) -> int:
    history = run_settle("--json", "history", "p/USD", env=env)
    assert history.returncode == 0, history.stderr
    return len(json.loads(history.stdout))
