"""`settle reconcile` as cron runs it: exit 0 clean, 1 with every difference named, 2 when it
could not run; JSON for machines, and each run left in the audit trail."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest

from domain.reconciliation import ReconciliationRun
from tests.e2e.conftest import Settle, run_settle


def _reconcile(settle: Settle, *args: str) -> tuple[int, dict[str, Any]]:
    result = settle("reconcile", "--json", *args)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return result.returncode, report


@pytest.mark.slow(40)
def test_reconcile_exits_0_when_clean_for_all_or_one_peer_then_1_naming_an_edited_row(
    settle: Settle, database_url: str
) -> None:
    # One demo run (the slow part) serves the clean checks, whole and for one peer, then the
    # edited row.
    assert settle("demo", "--batches", "2", "--batch-size", "10").returncode == 0
    code, report = _reconcile(settle)
    assert code == 0, report
    assert report["clean"] is True and report["differences"] == []
    assert {"replay", "ledger", "claims"} <= set(report["checked"])
    # For one peer: the replay covers every peer, so it says it skipped it, by name.
    result = settle("reconcile", "--peer", "alice")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "replay: not checked: covers every peer" in result.stdout
    assert "no differences" in result.stdout
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE balances SET receivable = receivable + 5 WHERE peer_id = 'carol'")
    code, report = _reconcile(settle)
    assert code == 1
    differences = report["differences"]
    assert isinstance(differences, list)
    replayed = [d for d in differences if d["check"] == "replay"]
    assert [(d["field"], d["amount"]) for d in replayed] == [("receivable", 5)]
    assert replayed[0]["subject"].startswith("balances/")
    ledger = [d for d in differences if d["check"] == "ledger"]
    assert [(d["subject"], d["field"], d["amount"]) for d in ledger] == [
        ("carol/USD", "receivable", -5)
    ]
    history = settle("--json", "history", str(ReconciliationRun.create_id(str(report["run_key"]))))
    [recorded] = json.loads(history.stdout)
    assert recorded["event"] == "ReconciliationRun.Recorded"
    assert recorded["payload"]["checks"]["replay"] == 1


def test_reconcile_that_cannot_reach_its_database_exits_2_on_one_line() -> None:
    result = run_settle(
        "reconcile", env={"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}, timeout=60
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and "could not run" in result.stderr


def test_reconcile_refuses_a_negative_grace_naming_the_option(settle: Settle) -> None:
    result = settle("reconcile", "--claim-grace", "-1")
    assert result.returncode == 2
    assert "--claim-grace" in result.stderr
