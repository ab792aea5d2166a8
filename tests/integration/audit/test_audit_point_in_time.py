"""Balances, channels and settlements as of a past position or time equal what the read models
showed then, though computed from the events alone."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from bootstrap.node import Node
from domain.peer_account import PeerAccount
from entrypoints.cli import main
from projections.point_in_time import read_models_at

Record = Callable[..., None]
TABLES = {"balances": "account_id", "channels": "channel_id", "settlements": "settlement_id"}


def snapshot(url: str, schema: str = "public") -> dict[str, list[dict[str, Any]]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return {
            table: conn.execute(
                sql.SQL("SELECT * FROM {} ORDER BY {}").format(
                    sql.Identifier(schema, table), sql.Identifier(key)
                )
            ).fetchall()
            for table, key in TABLES.items()
        }


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    assert main(["--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_past_is_rebuilt_from_the_events_equal_to_the_read_models_then(
    node: Node,
    record: Record,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", node.database_url)
    points: list[tuple[int, datetime, dict[str, Any], dict[str, Any]]] = []
    steps: list[Callable[[], None]] = [
        lambda: record(node.app, "alice", 3),
        lambda: record(node.app, "bob", 2),
        lambda: node.app.pause(PeerAccount.create_id("alice", "USD"), "audit test"),
        lambda: record(node.app, "bob", 2, tag="x"),
    ]
    for step in steps:
        step()
        node.catch_up_read_models()
        position = int(node.app.recorder.max_notification_id() or 0)
        cli_views = {command: cli_json(capsys, command) for command in ("balances", "settlements")}
        points.append((position, datetime.now(UTC), snapshot(node.database_url), cli_views))
    record(node.app, "carol", 2)  # and the present moves on
    node.catch_up_read_models()
    assert snapshot(node.database_url) != points[-1][2]

    for position, at, tables, cli_views in points:
        with read_models_at(node.app, node.pool, position) as schema:
            assert snapshot(node.database_url, schema) == tables
        for command, shown in cli_views.items():
            assert cli_json(capsys, command, "--at-position", str(position)) == shown
            assert cli_json(capsys, command, "--as-of", at.isoformat()) == shown
        assert cli_json(capsys, "channels", "--at-position", str(position)) == []


def test_bad_point_in_time_options_name_the_option_and_exit_2(
    node: Node, record: Record, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", node.database_url)
    record(node.app, "alice", 1)
    assert main(["balances", "--at-position", "99"]) == 2
    assert "--at-position: position 99 is beyond the last event (4)" in capsys.readouterr().err
    for argv in (
        ["balances", "--as-of", "yesterday"],
        ["channels", "--as-of", "2026-01-01", "--at-position", "1"],
    ):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2
        assert "argument --as-of" in capsys.readouterr().err
