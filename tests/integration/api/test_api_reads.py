"""Reads over HTTP: balances, settlements (status, peer, stuck), channels and history, each paged
with a cursor; bad filters are 422 problems naming the query field."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from api_service import USD, Service

from domain.peer_account import Direction, PacketEntry, PeerAccount
from entrypoints.http.client import ApiClient


def seed(service: Service, peers: int) -> None:
    app = service.node.app
    for i in range(peers):
        peer = f"peer-{i:02d}"
        app.open_peer_account(peer, USD, threshold=10_000, settle_to=0, credit_limit=100)
        app.record_packets(peer, "USD", "b", [PacketEntry("p", Direction.OUTGOING, 100 + i)])
    service.node.catch_up_read_models()


def every_page(fetch: Any, **query: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = fetch(cursor=cursor, **query)
        items.extend(page["items"])
        if page["next_cursor"] is None:
            return items
        cursor = page["next_cursor"]


def test_balances_paged_and_by_peer(service: Service) -> None:
    seed(service, 5)
    with service.client("reader") as client:
        rows = every_page(client.balances, limit=2)
        one = client.balances("peer-03")
    assert [r["peer_id"] for r in rows] == ["alice"] + [f"peer-{i:02d}" for i in range(5)]
    assert [r["payable"] for r in rows[1:]] == [100, 101, 102, 103, 104]
    assert one["next_cursor"] is None
    assert [(r["peer_id"], r["asset_code"], r["payable"]) for r in one["items"]] == [
        ("peer-03", "USD", 103)
    ]


def test_settlements_by_status_peer_and_stuck_age(service: Service) -> None:
    seed(service, 3)
    now = service.clock()
    for i in range(3):
        account_id = PeerAccount.create_id(f"peer-{i:02d}", "USD")
        service.node.app.request_settlement(f"k{i}", account_id, 50, now - timedelta(hours=i))
    service.node.catch_up_read_models()
    with service.client("reader") as client:
        stuck = client.settlements(stuck="90m")
        by_peer = client.settlements(peer="peer-01")
        requested = every_page(client.settlements, status="requested", limit=1)
        completed = client.settlements(status="completed")
    assert [r["peer_id"] for r in stuck["items"]] == ["peer-02"]
    assert [r["peer_id"] for r in by_peer["items"]] == ["peer-01"]
    assert sorted(r["peer_id"] for r in requested) == ["peer-00", "peer-01", "peer-02"]
    assert all(r["amount"] == 50 for r in requested)
    assert completed == {"items": [], "next_cursor": None}


def test_channels_list(service: Service) -> None:
    with service.client("reader") as client:
        assert client.channels() == {"items": [], "next_cursor": None}


def test_history_by_peer_and_asset_or_by_id_paged(service: Service) -> None:
    app = service.node.app
    account_id = PeerAccount.create_id("alice", "USD")
    app.record_packets("alice", "USD", "b", [PacketEntry("p", Direction.OUTGOING, 5)])
    app.pause(account_id, "why")
    with service.client("reader") as client:
        by_name = every_page(lambda **q: client.history("alice/USD", **q), limit=2)
        by_id = client.history(str(account_id))
    assert [e["version"] for e in by_name] == [1, 2, 3]
    assert [e["event"] for e in by_name] == [
        "PeerAccount.Opened",
        "PeerAccount.PacketsRecorded",
        "PeerAccount.Paused",
    ]
    assert by_id["items"] == by_name
    assert UUID(by_id["aggregate_id"]) == account_id
    assert by_name[1]["payload"]["entries"] == [["p", "outgoing", 5]]


def test_bad_queries_are_422_or_404_naming_the_field(service: Service) -> None:
    checks = [
        ("/v1/settlements?status=lost", 422, "status", "query"),
        ("/v1/settlements?stuck=soon", 422, "stuck", "query"),
        ("/v1/balances?limit=0", 422, "limit", "query"),
        ("/v1/balances?limit=1001", 422, "limit", "query"),
        ("/v1/balances?cursor=nonsense", 422, "cursor", "query"),
        ("/v1/channels?cursor=WyJ4Il0", 422, "cursor", "query"),
        ("/v1/history/not-a-uuid", 422, "aggregate_id", "path"),
        ("/v1/history/bob/USD", 404, "id", "path"),
    ]
    with service.client("reader") as client:
        for path, status, field, location in checks:
            response = client.send("GET", path)
            assert response.status_code == status, (path, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            errors = response.json()["errors"]
            assert [(e["field"], e["in"]) for e in errors] == [(field, location)], path


def test_an_unknown_route_is_a_problem_too(service: Service) -> None:
    with ApiClient(service.url) as client:
        response = client.send("GET", "/v1/nothing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
