"""The batched replay (`projections.batched_replay`) builds exactly the tables the incremental
followers build, on a log holding every event type of the three read models' aggregates."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from itertools import zip_longest
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from bootstrap.followers import read_model_projections
from bootstrap.node import Node, open_node
from bootstrap.replay import READ_MODEL_TABLES, replay
from bootstrap.settings import Settings
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry
from projections import batched_replay
from projections.event_chain import EVENTS_TABLE

COMPAT = Path(__file__).resolve().parents[1] / "unit" / "compat"
# An older name of Settlement.Applied, still resolved by the mapper.
RENAMED = {"domain.settlement:Settlement.Applied": "domain.settlement:Settlement.LedgerPosted"}


@pytest.fixture
def node(database_url: str) -> Iterator[Node]:
    with open_node(Settings(database_url=database_url, projection_batch_size=3)) as n:
        yield n


def fixture_histories() -> list[list[dict[str, Any]]]:
    """Each recorded aggregate's stored events (the compat fixtures: every event type)."""
    accounts = json.loads((COMPAT / "peer_account.json").read_text())["histories"]
    channels = json.loads((COMPAT / "channel.json").read_text())["aggregates"]
    settlements = json.loads((COMPAT / "settlement.json").read_text())["histories"]
    return [h["events"] for h in [*accounts, *channels, *settlements]]


def store_every_event_type(node: Node) -> int:
    """The fixtures' events interleaved (each aggregate's in order) among packets recorded by
    the application for two more accounts; returns the number of events stored."""
    usd = Asset("USD", 2)
    for peer in ("carol", "dave"):
        node.app.open_peer_account(peer, usd, 10**6, 0, 10**6)
    histories = fixture_histories()
    rows = [
        (record["originator_id"], record["originator_version"], record["topic"], record["state"])
        for step in zip_longest(*histories)
        for record in step
        if record is not None
    ]
    for n, row in enumerate(rows):
        account, topic = row[0], RENAMED.get(row[2], row[2])
        with psycopg.connect(node.database_url) as conn:
            conn.execute(
                f"INSERT INTO {EVENTS_TABLE} (originator_id, originator_version, topic, state)"  # nosec B608
                " VALUES (%s, %s, %s, %s)",
                (account, row[1], topic, stored_state(row[3])),
            )
        entries = [
            PacketEntry(f"p{n}o", Direction.OUTGOING, 10**12 + n),
            PacketEntry(f"p{n}i", Direction.INCOMING, 7),
        ]
        node.app.record_packets("carol" if n % 2 else "dave", "USD", f"b{n}", entries)
    node.app.pause(node.app.peer_account("carol", "USD").id, "checking")
    with psycopg.connect(node.database_url) as conn:
        count = conn.execute(f"SELECT count(*) FROM {EVENTS_TABLE}").fetchone()  # nosec B608
    assert count is not None
    return int(count[0])


def stored_state(state: dict[str, Any] | str) -> bytes:
    """A fixture's event state as stored (the channel fixture keeps the stored text as is)."""
    text = state if isinstance(state, str) else json.dumps(state, separators=(",", ":"))
    return text.encode()


def rebuilt_schema(node: Node) -> str:
    schema = f"rebuilt_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(node.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        for table in [*READ_MODEL_TABLES, "projection_tracking"]:
            conn.execute(
                sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL)").format(
                    sql.Identifier(schema, table), sql.Identifier("public", table)
                )
            )
    return schema


def rows(node: Node, schema: str, table: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(node.database_url) as conn:
        return conn.execute(
            sql.SQL("SELECT * FROM {} ORDER BY 1").format(sql.Identifier(schema, table))
        ).fetchall()


@pytest.mark.parametrize("summed", [True, False], ids=["packets-summed", "packets-decoded"])
def test_batched_replay_builds_the_tables_the_followers_build(
    node: Node, summed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = store_every_event_type(node)
    assert node.catch_up_read_models() == 3 * stored  # each follower applies every event
    if not summed:
        monkeypatch.setattr(batched_replay, "_can_sum", lambda app: False)
    schema = rebuilt_schema(node)
    head = int(node.app.recorder.max_notification_id() or 0)
    with node.pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
        events = batched_replay.rebuild(
            node.app, cursor, read_model_projections(schema), schema, head
        )
    assert events == stored == head
    for table in READ_MODEL_TABLES:
        live = rows(node, "public", table)
        assert len(live) > 1, table  # the history reaches every read model
        assert rows(node, schema, table) == live, table
    positions = {r[0]: r[1] for r in rows(node, "public", "projection_tracking")}
    assert {r[0]: r[1] for r in rows(node, schema, "projection_tracking")} == positions


def test_a_replay_that_dies_leaves_nothing_and_the_next_one_is_clean(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = store_every_event_type(node)

    def dies(*args: Any) -> None:
        raise RuntimeError("killed while summing the packets")

    with monkeypatch.context() as patch:
        patch.setattr(batched_replay, "_add_packet_totals", dies)
        with pytest.raises(RuntimeError, match="killed"):
            replay(node)
    with psycopg.connect(node.database_url) as conn:
        left = conn.execute(
            "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'replay_%'"
        ).fetchone()
    assert left == (0,)
    report = replay(node)
    assert report.clean and report.events == stored


def test_a_replay_of_an_empty_log_is_clean(node: Node) -> None:
    report = replay(node)
    assert report.clean and (report.events, report.position) == (0, 0)
