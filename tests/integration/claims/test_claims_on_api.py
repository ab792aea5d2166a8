"""Claims on the one service API: the same route and answers as the old claims server, by the
peer's claims token or an API client named as the peer with the `peer` scope; a node's
`ClaimClient` delivers to it unchanged."""

from __future__ import annotations

import contextlib
import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from adapters.claims.client import ClaimClient
from adapters.claims.errors import DeliveryFailed
from application.claim_handling import ClaimOutcome
from application.claim_messages import ChannelRef, Claim, SignedProof
from bootstrap.http import HttpServer
from entrypoints.http.api.app import build_api
from entrypoints.http.api.auth import TokenTable, token_sha256
from entrypoints.http.api.routes_claims import ClaimsEndpoint
from entrypoints.http.api.settings import ApiClientSettings, ApiSettings, Scope

CLAIMS_TOKEN = "tok-claims-node-a"
API_TOKENS = {"node-a": ("tok-api-node-a", {Scope.PEER}), "reader": ("tok-read", {Scope.READ})}


class Handler:
    def __init__(self) -> None:
        self.claims: list[Claim] = []

    def handle(self, claim: Claim) -> ClaimOutcome:
        if any(c.claim_id == claim.claim_id for c in self.claims):
            return ClaimOutcome.already_credited("r-1")
        self.claims.append(claim)
        return ClaimOutcome.credited("r-1")


def make_claim(claim_id: str = "claim-1") -> Claim:
    return Claim(
        claim_id=claim_id,
        sender_node="node-a",
        sender_address="0x" + "1f" * 20,
        asset_code="USDC",
        asset_scale=6,
        amount="5",
        channel=ChannelRef(chain_id=31337, token_network="0x" + "ab" * 20, onchain_id=7),
        proof=SignedProof(
            nonce=1,
            transferred_amount="5",
            locks_root="0x" + "00" * 32,
            signature="0x" + "11" * 32 + "22" * 32 + "1b",
        ),
    )


@pytest.fixture
def handler() -> Handler:
    return Handler()


@pytest.fixture
def url(handler: Handler) -> Iterator[str]:
    clients = {
        name: ApiClientSettings(token_sha256=token_sha256(token), scopes=frozenset(scopes))
        for name, (token, scopes) in API_TOKENS.items()
    }
    api = build_api(ApiSettings(clients=clients))
    api.state.tokens = TokenTable(clients)
    api.state.claims = ClaimsEndpoint(handler, {"node-a": CLAIMS_TOKEN})
    with HttpServer(api) as server:
        yield server.url


def post(
    url: str, token: str | None, body: bytes, content_type: str = "application/json"
) -> tuple[int, Any]:
    address = urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)
    headers = {"Content-Type": content_type, "Idempotency-Key": "claim-1"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        # The server may answer (413) before the whole body is sent: then read its answer.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.request("POST", "/accounts/node-a/claims", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_the_claim_client_delivers_to_the_api(url: str, handler: Handler) -> None:
    client = ClaimClient(url, CLAIMS_TOKEN, timeout_seconds=10)
    assert client.deliver(make_claim()).status == "accepted"
    assert client.deliver(make_claim()).status == "duplicate"
    assert [c.claim_id for c in handler.claims] == ["claim-1"]


def test_an_api_client_named_as_the_peer_with_the_peer_scope_may_send(url: str) -> None:
    status, answer = post(url, "tok-api-node-a", make_claim().model_dump_json().encode())
    assert (status, answer["status"]) == (200, "accepted")


def test_an_api_client_without_the_peer_scope_is_403(url: str, handler: Handler) -> None:
    status, answer = post(url, "tok-read", make_claim().model_dump_json().encode())
    assert (status, answer["error"]) == (403, "forbidden")
    assert handler.claims == []


@pytest.mark.parametrize("token", [None, "wrong", CLAIMS_TOKEN + "x"])
def test_no_or_a_wrong_token_is_401(url: str, token: str | None) -> None:
    status, answer = post(url, token, make_claim().model_dump_json().encode())
    assert (status, answer["error"]) == (401, "unauthorized")


def test_refusals_keep_their_statuses(url: str) -> None:
    body = make_claim().model_dump_json().encode()
    assert post(url, CLAIMS_TOKEN, body, "text/plain")[1]["error"] == "unsupported_media_type"
    status, answer = post(url, CLAIMS_TOKEN, b'{"claim_id": "claim-1", "amount": "x"}')
    assert (status, answer["error"]) == (400, "invalid")
    with pytest.raises(DeliveryFailed) as failure:
        ClaimClient(url, "nope", timeout_seconds=10).deliver(make_claim())
    assert (failure.value.retryable, failure.value.status) == (False, 401)
    status, _ = post(url, CLAIMS_TOKEN, b"{" + b" " * (2 * 1024 * 1024) + b"}")
    assert status == 413
