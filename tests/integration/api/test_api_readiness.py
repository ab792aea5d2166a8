"""/healthz and /readyz: ready when the database answers, with each follower's lag behind the
head; 503 when a follower is further behind than allowed or the database does not answer."""

from __future__ import annotations

from api_service import Service, api_settings
from psycopg_pool import ConnectionPool

from bootstrap.http import HttpServer
from domain.peer_account import Direction, PacketEntry
from entrypoints.http.api.app import create_app
from entrypoints.http.api.routes_health import package_version
from entrypoints.http.client import ApiClient
from projections.read_side import ReadSide


def record(service: Service, batch_id: str) -> None:
    entries = [PacketEntry(batch_id, Direction.OUTGOING, 1)]
    service.node.app.record_packets("alice", "USD", batch_id, entries)


def test_ready_reports_each_followers_lag_and_the_version(service: Service) -> None:
    service.node.catch_up_read_models()
    record(service, "b-1")
    record(service, "b-2")
    with ApiClient(service.url) as client:
        response = client.readyz()
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ready" and body["database"] == "reachable"
    assert body["version"] == package_version() != "unknown"
    assert body["head_position"] == 3
    assert body["follower_lag"] == {"balances": 2, "channels": 2, "settlements": 2}


def test_a_follower_further_behind_than_allowed_is_not_ready(service: Service) -> None:
    service.node.catch_up_read_models()
    record(service, "b-1")
    settings = api_settings().model_copy(update={"ready_max_lag": 0})
    asgi = create_app(service.node.app, service.node.read_side(), settings)
    with HttpServer(asgi) as server, ApiClient(server.url) as client:
        behind = client.readyz()
        service.node.catch_up_read_models()
        caught_up = client.readyz()
    assert behind.status_code == 503 and behind.json()["status"] == "not_ready"
    assert caught_up.status_code == 200


def test_an_unreachable_database_is_not_ready_but_alive(service: Service) -> None:
    pool: ConnectionPool = ConnectionPool(
        "host=127.0.0.1 port=1 dbname=none connect_timeout=1", open=False, timeout=0.5
    )
    asgi = create_app(service.node.app, ReadSide(pool, service.node.app), api_settings())
    try:
        with HttpServer(asgi) as server, ApiClient(server.url) as client:
            response = client.readyz()
            alive = client.healthz()
    finally:
        pool.close()
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
    assert alive == {"status": "alive"}
