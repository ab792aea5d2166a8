"""The claims endpoint on 127.0.0.1 refuses bad input with a 4xx problem naming the field, never a
500 (which the sender would retry forever); a body that is not JSON is a 415; a claim id
reused with another body is a 409."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from adapters.claims.errors import DeliveryFailed
from application.claim_handling import ClaimOutcome
from application.claim_messages import HALF_ORDER, MAX_UINT256, Claim, RejectionCode
from entrypoints.http.claims_server import ClaimServer
from tests.integration.claims.test_claim_transport import (
    TOKEN,
    RecordingHandler,
    auth_headers,
    client_for,
    make_claim,
    raw_post,
)
from tests.unit.claims.test_claim_messages import claim_document

PATH = "/accounts/node-a/claims"


class ConflictHandler:
    def handle(self, claim: Claim) -> ClaimOutcome:
        return ClaimOutcome.rejected(RejectionCode.CONFLICT, "claim_id: another body")


@pytest.fixture
def handler() -> RecordingHandler:
    return RecordingHandler()


@pytest.fixture
def server(handler: RecordingHandler) -> Iterator[ClaimServer]:
    with ClaimServer(handler, {"node-a": TOKEN}) as running:
        yield running


def post_document(server: ClaimServer, document: Any) -> tuple[int, dict[str, Any]]:
    return raw_post(server, PATH, json.dumps(document).encode(), auth_headers("claim-1"))


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/xml", "application/json; charset=latin-1", "json"],
)
def test_a_body_that_is_not_json_is_415(
    server: ClaimServer, handler: RecordingHandler, content_type: str | None
) -> None:
    headers = auth_headers()
    del headers["Content-Type"]
    if content_type is not None:
        headers["Content-Type"] = content_type
    body = make_claim().model_dump_json().encode()
    status, answer = raw_post(server, PATH, body, headers)
    assert (status, answer["error"]) == (415, "unsupported_media_type")
    assert answer["detail"].startswith("Content-Type: ")
    assert handler.claims == []


def test_json_with_its_charset_spelled_out_is_taken(server: ClaimServer) -> None:
    headers = {**auth_headers(), "Content-Type": "Application/JSON; charset=UTF-8"}
    status, answer = raw_post(server, PATH, make_claim().model_dump_json().encode(), headers)
    assert (status, answer["status"]) == (200, "accepted")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"proof__nonce": MAX_UINT256 + 1}, "proof.nonce"),
        ({"proof__nonce": 10**80}, "proof.nonce"),
        ({"proof__signature": "0x" + "00" * 65}, "proof.signature"),
        (
            {"proof__signature": "0x" + "11" * 32 + f"{HALF_ORDER + 1:064x}" + "1b"},
            "proof.signature",
        ),
        ({"proof__signature": "0x" + "11" * 64 + "25"}, "proof.signature"),
        ({"channel__chain_id": MAX_UINT256 + 1}, "channel.chain_id"),
        ({"channel__onchain_id": -1}, "channel.onchain_id"),
        ({"amount": str(MAX_UINT256 + 1)}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"asset_scale": 39}, "asset_scale"),
        ({"proof__transferred_amount": 5}, "proof.transferred_amount"),
        ({"sender_address": "0x12"}, "sender_address"),
        ({"channel": None}, "channel"),
    ],
)
def test_out_of_range_fields_are_400_naming_the_field(
    server: ClaimServer, handler: RecordingHandler, overrides: dict[str, Any], field: str
) -> None:
    status, answer = post_document(server, claim_document(claim_id="claim-1", **overrides))
    assert (status, answer["error"]) == (400, "invalid")
    assert answer["detail"].startswith(f"{field}: ")
    assert handler.claims == []


@pytest.mark.parametrize(
    "body",
    [b"", b"null", b"[]", b'"claim"', b"\xff\xfe", b'{"claim_id": 1e999}', b"[" * 5000],
)
def test_bodies_that_are_no_claim_are_400(server: ClaimServer, body: bytes) -> None:
    status, answer = raw_post(server, PATH, body, auth_headers())
    assert (status, answer["error"]) == (400, "invalid")


def test_a_claim_id_reused_with_another_body_is_a_final_409() -> None:
    with (
        ClaimServer(ConflictHandler(), {"node-a": TOKEN}) as server,
        pytest.raises(DeliveryFailed) as caught,
    ):
        client_for(server).deliver(make_claim())
    failure = caught.value
    assert (failure.retryable, failure.status, failure.error) == (False, 409, "conflict")
