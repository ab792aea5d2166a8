"""RFC 0038 engine API on a real node: accounts, idempotent settlements with leftovers, messages,
refusals."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from engine_service import EngineService

from domain.engine_account import EngineAccount
from domain.peer_account import PeerAccount
from domain.settlement import Settlement


def _settle(service: EngineService, account: str, key: str, body: object) -> tuple[int, object]:
    with service.client() as client:
        response = client.post(
            f"/accounts/{account}/settlements",
            content=json.dumps(body),
            headers={"Idempotency-Key": key, "Content-Type": "application/json"},
        )
    return response.status_code, response.json()


def _create(service: EngineService, account: str) -> int:
    with service.client() as client:
        status: int = client.post("/accounts", json={"id": account}).status_code
        return status


def test_create_and_delete_account(engine_service: EngineService) -> None:
    assert _create(engine_service, "bob") == 201
    assert _create(engine_service, "bob") == 201  # the connector may repeat it
    with engine_service.client() as client:
        assert client.delete("/accounts/bob").status_code == 204
        assert client.delete("/accounts/bob").status_code == 404
    status, _ = _settle(engine_service, "bob", "k1", {"amount": "1", "scale": 6})
    assert status == 404


def test_settlement_request_becomes_reserved_settlement(engine_service: EngineService) -> None:
    _create(engine_service, "bob")
    status, body = _settle(engine_service, "bob", "key-1", {"amount": "2500", "scale": 6})
    assert (status, body) == (201, {"amount": "2500", "scale": 6})
    app = engine_service.node.app
    account = app.peer_account("bob", "USD")
    assert (account.payable, account.in_flight) == (0, 2500)
    [(settlement_hex, _)] = account.settlements.items()
    settlement = app.load(__import__("uuid").UUID(settlement_hex), Settlement)
    assert settlement.amount == 2500 and settlement.account_id == account.id


def test_same_key_same_body_replays_and_other_body_conflicts(
    engine_service: EngineService,
) -> None:
    _create(engine_service, "bob")
    first = _settle(engine_service, "bob", "key-1", {"amount": "700", "scale": 6})
    again = _settle(engine_service, "bob", "key-1", {"scale": 6, "amount": "700"})
    assert first == again == (201, {"amount": "700", "scale": 6})
    assert engine_service.node.app.peer_account("bob", "USD").in_flight == 700
    status, problem = _settle(engine_service, "bob", "key-1", {"amount": "701", "scale": 6})
    assert status == 409
    assert isinstance(problem, dict) and problem["errors"][0]["field"] == "Idempotency-Key"


def test_finer_amounts_kept_as_leftover_until_they_add_up(engine_service: EngineService) -> None:
    _create(engine_service, "bob")
    # 0.0000015 USD at scale 7 is 1 micro-dollar settled and 5 at scale 7 kept.
    assert _settle(engine_service, "bob", "a", {"amount": "15", "scale": 7}) == (
        201,
        {"amount": "1", "scale": 6},
    )
    assert _settle(engine_service, "bob", "b", {"amount": "4", "scale": 7}) == (
        201,
        {"amount": "0", "scale": 6},
    )
    assert _settle(engine_service, "bob", "c", {"amount": "1", "scale": 7}) == (
        201,
        {"amount": "1", "scale": 6},
    )
    app = engine_service.node.app
    assert app.peer_account("bob", "USD").in_flight == 2
    assert app.load(EngineAccount.create_id("bob"), EngineAccount).leftover_quantity == (0, 7)
    # A coarser scale converts exactly up.
    assert _settle(engine_service, "bob", "d", {"amount": "3", "scale": 2}) == (
        201,
        {"amount": "30000", "scale": 6},
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scale": 6}, "amount"),
        ({"amount": "5"}, "scale"),
        ({"amount": 5, "scale": 6}, "amount"),
        ({"amount": "-5", "scale": 6}, "amount"),
        ({"amount": "1.5", "scale": 6}, "amount"),
        ({"amount": "5", "scale": 256}, "scale"),
        ({"amount": "5", "scale": -1}, "scale"),
        ({"amount": "5", "scale": "6"}, "scale"),
        ([1, 2], "body"),
    ],
)
def test_malformed_quantity_is_400_naming_the_field(
    engine_service: EngineService, body: object, field: str
) -> None:
    _create(engine_service, "bob")
    status, problem = _settle(engine_service, "bob", "key-x", body)
    assert status == 400
    assert isinstance(problem, dict) and [e["field"] for e in problem["errors"]] == [field]


def test_missing_idempotency_key_is_400(engine_service: EngineService) -> None:
    _create(engine_service, "bob")
    with engine_service.client() as client:
        response = client.post("/accounts/bob/settlements", json={"amount": "1", "scale": 6})
    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "field": "Idempotency-Key",
        "in": "header",
        "problem": response.json()["errors"][0]["problem"],
    }


def test_keys_kept_24_hours_since_last_use(engine_service: EngineService) -> None:
    _create(engine_service, "bob")
    body = {"amount": "10", "scale": 6}
    assert _settle(engine_service, "bob", "k", body)[0] == 201
    engine_service.clock.advance(timedelta(hours=23))
    assert _settle(engine_service, "bob", "k", body)[0] == 201  # used again: kept 24 h more
    engine_service.clock.advance(timedelta(hours=23))
    other = {"amount": "11", "scale": 6}
    assert _settle(engine_service, "bob", "x", other)[0] == 201  # triggers a purge pass
    assert _settle(engine_service, "bob", "k", other)[0] == 409  # still known
    assert engine_service.node.app.peer_account("bob", "USD").in_flight == 21
    engine_service.clock.advance(timedelta(hours=25))
    assert _settle(engine_service, "bob", "y", other)[0] == 201  # purges what is past 24 h
    assert _settle(engine_service, "bob", "k", other)[0] == 201  # forgotten: a new request


def test_messages_raw_bytes_in_and_out(engine_service: EngineService) -> None:
    _create(engine_service, "bob")
    with engine_service.client() as client:
        response = client.post(
            "/accounts/bob/messages",
            content=b'{"type":"settlement_info"}',
            headers={"Content-Type": "application/octet-stream"},
        )
        assert response.status_code == 201
        assert response.headers["content-type"] == "application/octet-stream"
        assert json.loads(response.content)["address"] == "0x" + "11" * 20
        assert client.post("/accounts/nobody/messages", content=b"{}").status_code == 404
        assert client.post("/accounts/bob/messages", content=b"\xff").status_code == 400


def test_routes_need_the_connector_scope(engine_service: EngineService) -> None:
    with engine_service.client(None) as anonymous:
        assert anonymous.post("/accounts", json={"id": "bob"}).status_code == 401
    with engine_service.client("reader") as reader:
        assert reader.post("/accounts", json={"id": "bob"}).status_code == 403


def test_account_ids_must_be_url_safe(engine_service: EngineService) -> None:
    with engine_service.client() as client:
        response = client.post("/accounts", json={"id": "bob/../x"})
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "id"
        assert client.post("/accounts", json={}).status_code == 400
    assert not engine_service.node.app.exists(PeerAccount.create_id("bob/../x", "USD"))
