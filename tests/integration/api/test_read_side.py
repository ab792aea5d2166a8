"""The read side on the application's pool: the same rows as plain SQL on the tables, keyset pages
that cover every row once, the stuck filter, history through the app, and no connection of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from psycopg.rows import dict_row

from bootstrap.node import Node, open_node
from bootstrap.settings import Settings
from domain.errors import InvalidField
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry, PeerAccount
from domain.settlement import TERMINAL
from projections.read_side import Page, ReadSide

USD = Asset("USD", 2)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def node(database_url: str) -> Iterator[Node]:
    with open_node(Settings(database_url=database_url)) as n:
        yield n


def open_peers(node: Node, count: int) -> None:
    for i in range(count):
        peer = f"peer-{i:02d}"
        node.app.open_peer_account(peer, USD, threshold=10_000, settle_to=0, credit_limit=100)
        node.app.open_peer_account(peer, Asset("EUR", 2), 10_000, 0, 100)
        node.app.record_packets(
            peer, "USD", "b1", [PacketEntry(f"{peer}-p", Direction.OUTGOING, 7 + i)]
        )


def all_pages(fetch: Any, limit: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        page: Page = fetch(limit=limit, cursor=cursor)
        assert len(page.rows) <= limit
        rows.extend(page.rows)
        if page.next_cursor is None:
            return rows
        cursor = page.next_cursor


BALANCES = (
    "SELECT peer_id, asset_code, asset_scale, payable, receivable, in_flight, paused,"
    " last_settlement_id, last_settlement_at FROM balances"
)
SETTLEMENTS = (
    "SELECT settlement_id, peer_id, asset_code, amount, status, attempts, rail, tx_hash,"
    " last_error, resolution, requested_at, updated_at, completed_at FROM settlements"
)


def direct(node: Node, query: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """The rows plain SQL on its own connection finds: what the read side must answer."""
    with psycopg.connect(node.database_url, row_factory=dict_row) as conn:
        return list(conn.execute(query, params).fetchall())


def insert_channel(node: Node, peer: str, updated_at: datetime) -> None:
    with psycopg.connect(node.database_url) as conn:
        conn.execute(
            "INSERT INTO channels (channel_id, peer_id, asset_code, chain_id, token_network,"
            " our_address, partner_address, channel_key, state, updated_at, version)"
            " VALUES (%s, %s, 'USD', 31337, '0xnet', '0xa', '0xb', %s, 'open', %s, 1)",
            (uuid4(), peer, str(uuid4()), updated_at),
        )


def test_node_shares_the_applications_pool(node: Node) -> None:
    assert node.pool is node.app.recorder.datastore.pool  # type: ignore[attr-defined]
    assert node.pool.max_size >= 20


def test_balances_match_plain_sql_and_pages_cover_each_row_once(node: Node) -> None:
    open_peers(node, 7)
    node.catch_up_read_models()
    reads = node.read_side()
    everything = direct(node, BALANCES + " ORDER BY peer_id, asset_code")
    assert reads.balances(limit=1000).rows == everything
    paged = all_pages(reads.balances, limit=3)
    assert paged == everything
    assert len(paged) == 14
    only = reads.balances("peer-03").rows
    assert only == direct(node, BALANCES + " WHERE peer_id = %s ORDER BY asset_code", ("peer-03",))
    assert [r["asset_code"] for r in only] == ["EUR", "USD"]


def test_settlements_by_status_peer_and_stuck_age_with_pages(node: Node) -> None:
    open_peers(node, 3)
    for i in range(3):
        account_id = PeerAccount.create_id(f"peer-{i:02d}", "USD")
        node.app.request_settlement(f"key-{i}", account_id, 5, T0 - timedelta(minutes=10 * i))
    node.catch_up_read_models()
    reads = node.read_side()
    stuck = reads.settlements(stuck_for=timedelta(minutes=15), now=T0).rows
    assert [r["peer_id"] for r in stuck] == ["peer-02"]
    expected = direct(
        node,
        SETTLEMENTS + " WHERE status <> ALL(%s) AND updated_at < %s ORDER BY requested_at",
        ([s.value for s in TERMINAL], T0 - timedelta(minutes=15)),
    )
    assert stuck == expected
    assert [r["peer_id"] for r in reads.settlements(peer_id="peer-01").rows] == ["peer-01"]
    assert len(reads.settlements(status="requested").rows) == 3
    assert reads.settlements(status="completed").rows == []
    paged = all_pages(reads.settlements, limit=2)
    assert [r["settlement_id"] for r in paged] == [
        r["settlement_id"] for r in direct(node, SETTLEMENTS + " ORDER BY requested_at")
    ]


def test_channels_pages_follow_peer_then_last_change(node: Node) -> None:
    for i in range(5):
        insert_channel(node, f"peer-{i % 2}", T0 + timedelta(seconds=i))
    reads = node.read_side()
    paged = all_pages(reads.channels, limit=2)
    assert [(r["peer_id"], r["updated_at"]) for r in paged] == sorted(
        (r["peer_id"], r["updated_at"]) for r in paged
    )
    assert len({r["channel_id"] for r in paged}) == 5
    assert [r["channel_id"] for r in paged] == [
        r["channel_id"] for r in direct(node, "SELECT * FROM channels ORDER BY peer_id, updated_at")
    ]
    assert len(reads.channels("peer-1").rows) == 2


def test_history_pages_through_one_aggregates_events(node: Node) -> None:
    open_peers(node, 1)
    account_id = PeerAccount.create_id("peer-00", "USD")
    node.app.pause(account_id, "test")
    node.app.resume(account_id)
    events = all_pages(lambda **kw: node.read_side().history(account_id, **kw), limit=2)
    assert [e["version"] for e in events] == [1, 2, 3, 4]
    assert [e["event"] for e in events][-2:] == ["PeerAccount.Paused", "PeerAccount.Resumed"]
    assert events[2]["payload"] == {"reason": "test"}


def test_a_cursor_or_limit_not_ours_is_refused_naming_the_field(node: Node) -> None:
    reads = node.read_side()
    with pytest.raises(InvalidField) as error:
        reads.balances(cursor="not-a-cursor!")
    assert error.value.field == "cursor"
    with pytest.raises(InvalidField) as error:
        reads.settlements(limit=0)
    assert error.value.field == "limit"


def test_reads_never_open_a_connection_of_their_own(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_peers(node, 2)
    node.catch_up_read_models()
    reads = ReadSide(node.pool, node.app)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("psycopg.connect called by the read side")

    monkeypatch.setattr(psycopg, "connect", refuse)
    monkeypatch.setattr(psycopg.Connection, "connect", refuse)
    assert len(reads.balances().rows) == 4
    assert reads.channels().rows == []
    assert reads.settlements().rows == []
    assert set(reads.follower_positions()) == {"balances", "channels", "settlements"}
    assert reads.head_position() > 0
