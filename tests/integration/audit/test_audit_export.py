"""settle export writes chained events that tools/verify_export.py checks on their own."""

from __future__ import annotations

import base64
import csv
import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bootstrap.node import Node
from entrypoints.cli import main

VERIFIER = Path(__file__).resolve().parents[3] / "tools" / "verify_export.py"
Record = Callable[..., None]


def run_verifier(*args: str) -> subprocess.CompletedProcess[str]:
    # Run as an auditor would: a bare interpreter, no project on the path.
    return subprocess.run(
        [sys.executable, "-I", str(VERIFIER), *args], capture_output=True, text=True, check=False
    )


def tamper_state(path: Path, fmt: str, line: int) -> None:
    """Edits the event on `line` as a forger would: its state, re-encoded, one byte changed."""
    lines = path.read_text().splitlines()
    if fmt == "jsonl":
        record = json.loads(lines[line - 1])
    else:
        header = lines[0].split(",")
        record = dict(zip(header, next(csv.reader([lines[line - 1]])), strict=True))
    state = base64.b64decode(record["state_b64"])
    forged = state[:-1] + b" }"  # still valid JSON, one byte more
    record["state_b64"] = base64.b64encode(forged).decode()
    if fmt == "jsonl":
        lines[line - 1] = json.dumps(record, sort_keys=True)
    else:
        buffer = io.StringIO()
        csv.writer(buffer).writerow([record[c] for c in header])
        lines[line - 1] = buffer.getvalue().rstrip("\r\n")
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def url(node: Node, record: Record, monkeypatch: pytest.MonkeyPatch) -> str:
    record(node.app, "alice", 4)
    record(node.app, "bob", 3)
    monkeypatch.setenv("DATABASE_URL", node.database_url)
    return node.database_url


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_an_export_verifies_and_one_tampered_line_is_reported(
    url: str, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / f"export.{fmt}"
    assert main(["export", "--from", "3", "--to", "10", "--format", fmt, "--output", str(out)]) == 0
    ok = run_verifier(str(out))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "OK: 8 events checked, 0 redacted" in ok.stdout
    tampered_line = 5  # after the start record (and the CSV header)
    tamper_state(out, fmt, tampered_line)
    bad = run_verifier(str(out))
    assert bad.returncode == 1
    assert f"line {tampered_line}: position" in bad.stdout
    assert "event content does not match" in bad.stdout


def test_a_peer_export_redacts_other_peers_and_still_chains_to_the_anchored_head(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["anchor", "--json"]) == 0
    head = json.loads(capsys.readouterr().out)
    out = tmp_path / "bob.jsonl"
    args = ["export", "--from", "1", "--to", str(head["position"]), "--peer", "bob"]
    assert main([*args, "--output", str(out)]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    kinds = [r["kind"] for r in records]
    assert kinds.count("event") == 6 and kinds.count("redacted") == 7  # bob's 6, alice's 7
    assert records[-1] == {"kind": "head", **head}
    ok = run_verifier(str(out), "--head", head["chain_hash"])
    assert ok.returncode == 0 and "6 events checked, 7 redacted" in ok.stdout
    wrong = run_verifier(str(out), "--head", "00" * 32)
    assert wrong.returncode == 1 and "differs from the head" in wrong.stdout


def test_export_refuses_a_range_that_ends_before_it_starts(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "--from", "5", "--to", "2"]) == 2
    assert "--to" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["export", "--from", "0", "--to", "2"])
    assert exited.value.code == 2
    assert "argument --from" in capsys.readouterr().err
