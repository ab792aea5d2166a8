"""Every route but health needs a bearer token with the right scope: 401 without a token or with a
wrong one, 403 with a token lacking the scope, each a problem document naming the header."""

from __future__ import annotations

from typing import Any

import pytest
from api_service import Service

from entrypoints.http.client import ApiClient

BATCH = {"batch_id": "b", "entries": [{"packet_id": "p", "direction": "outgoing", "amount": 1}]}
ACCOUNT = "/v1/peers/alice/assets/USD"
# (method, path, body, a client with the scope, a client without it)
ROUTES: list[tuple[str, str, Any, str, str]] = [
    ("POST", f"{ACCOUNT}/packet-batches", BATCH, "connector", "reader"),
    ("GET", "/v1/balances", None, "reader", "connector"),
    ("GET", "/v1/channels", None, "reader", "peer-b"),
    ("GET", "/v1/settlements?status=requested", None, "reader", "connector"),
    ("GET", "/v1/history/alice/USD", None, "reader", "connector"),
    ("GET", "/v1/history/4f9c6a1e-2a43-5d1e-9b7a-53e7713e5d2a", None, "reader", "connector"),
    ("POST", f"{ACCOUNT}/pause", {"reason": "r"}, "ops-alice", "reader"),
    ("POST", f"{ACCOUNT}/resume", None, "ops-alice", "connector"),
    ("PUT", f"{ACCOUNT}/threshold", {"threshold": 10, "settle_to": 0}, "ops-alice", "reader"),
    ("PUT", f"{ACCOUNT}/credit-limit", {"credit_limit": 5}, "ops-alice", "peer-b"),
]
IDS = [f"{m} {p}" for m, p, *_ in ROUTES]


def _send(client: ApiClient, method: str, path: str, body: Any) -> Any:
    return client.send(method, path, json=body) if body is not None else client.send(method, path)


def _assert_problem(response: Any, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status
    assert [e["field"] for e in problem["errors"]] == ["Authorization"]
    assert problem["errors"][0]["in"] == "header"


@pytest.mark.parametrize(("method", "path", "body", "allowed", "denied"), ROUTES, ids=IDS)
def test_every_route_refuses_missing_wrong_and_unscoped_tokens(
    service: Service, method: str, path: str, body: Any, allowed: str, denied: str
) -> None:
    with ApiClient(service.url) as anonymous:
        response = _send(anonymous, method, path, body)
        _assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"
    with ApiClient(service.url, "tok-wrong") as wrong:
        _assert_problem(_send(wrong, method, path, body), 401)
    with service.client(denied) as unscoped:
        response = _send(unscoped, method, path, body)
        _assert_problem(response, 403)
        assert "tok-" not in response.text  # a token is never echoed
    with service.client(allowed) as scoped:
        assert _send(scoped, method, path, body).status_code not in (401, 403)


def test_a_non_bearer_authorization_is_refused(service: Service) -> None:
    with ApiClient(service.url) as client:
        response = client.send("GET", "/v1/balances", headers={"Authorization": "Basic abc"})
    _assert_problem(response, 401)


def test_health_needs_no_token(service: Service) -> None:
    with ApiClient(service.url) as anonymous:
        assert anonymous.healthz() == {"status": "alive"}
        assert anonymous.readyz().status_code == 200
