"""Tables for people fit 80 columns, one row a line: every column but the last whole, the last
cut with an ellipsis; `settle settlements` shows each settlement so."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from entrypoints.cli.core import _settlement_line
from entrypoints.cli.output import emit_narrow


def settlement(status: str, error: str | None) -> dict[str, object]:
    return {
        "settlement_id": uuid4(),
        "peer_id": "node-b",
        "asset_code": "USD",
        "amount": 5_000_000,
        "status": status,
        "attempts": 3,
        "rail": "anvil-usd",
        "updated_at": datetime(2026, 12, 1, 7, 5, tzinfo=UTC),
        "last_error": error,
    }


def test_settlements_fit_80_columns_with_the_status_whole_and_the_error_cut(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # a wide terminal still gets 80 columns
    long_error = "closed channel 1 can be settled on chain after 1767000000\nand more " * 3
    rows = [settlement("completed", None), settlement("dead_lettered", long_error)]
    emit_narrow([_settlement_line(r) for r in rows], title="settlements")
    lines = capsys.readouterr().out.splitlines()
    assert max(map(len, lines)) <= 80
    assert len(lines) == 5  # title, header, rule, one line per settlement
    assert lines[1].split() == [
        "id",
        "peer",
        "amount",
        "status",
        "tries",
        "updated",
        "last",
        "error",
    ]
    assert "dead_lettered  3      12-01 07:05  closed chan" in lines[4]
    assert lines[4].endswith("\u2026") and "\n" not in lines[4]
    assert lines[3].split() == [str(rows[0]["settlement_id"])[:8], "node-b/USD", "5000000",
                                "completed", "3", "12-01", "07:05"]  # fmt: skip


def test_a_narrower_terminal_narrows_the_table(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    emit_narrow([{"name": "x" * 10, "note": "y" * 100}], title="t")
    assert max(map(len, capsys.readouterr().out.splitlines())) == 60


def test_no_rows_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    emit_narrow([], title="settlements")
    assert capsys.readouterr().out.splitlines() == ["settlements", "(none)"]
