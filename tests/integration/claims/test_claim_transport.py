"""A real ClaimServer on 127.0.0.1 and a real ClaimClient; only the ClaimHandler is the test's."""

from __future__ import annotations

import http.client
import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from adapters.claims.client import ClaimClient
from adapters.claims.errors import DeliveryFailed
from application.claim_handling import ClaimOutcome
from application.claim_messages import ChannelRef, Claim, RejectionCode, SignedProof
from entrypoints.http.claims_server import ClaimServer

TOKEN = "tok-a-9f8e7d6c5b4a3f2e1d0c"
SIGNATURE = "0x" + "11" * 32 + "22" * 32 + "1b"  # r, s (low), v = 27


class RecordingHandler:
    """Credits each claim id once and refuses a nonce not above the channel's last one."""

    def __init__(self) -> None:
        self.claims: list[Claim] = []
        self.failing_claim_ids: set[str] = set()
        self.not_yet_claim_ids: set[str] = set()
        self.blocked_until: threading.Event | None = None
        self._lock = threading.Lock()
        self._receipts: dict[str, str] = {}
        self._last_nonce: dict[tuple[int, str, int], int] = {}

    def handle(self, claim: Claim) -> ClaimOutcome:
        if self.blocked_until is not None:
            self.blocked_until.wait()
        with self._lock:
            self.claims.append(claim)
            if claim.claim_id in self.failing_claim_ids:
                raise RuntimeError("database password=hunter2 rejected")
            if claim.claim_id in self.not_yet_claim_ids:
                self.not_yet_claim_ids.discard(claim.claim_id)
                return ClaimOutcome.rejected(RejectionCode.RETRY_LATER, "packets not recorded yet")
            if claim.claim_id in self._receipts:
                return ClaimOutcome.already_credited(self._receipts[claim.claim_id])
            if claim.proof.signature != SIGNATURE:
                return ClaimOutcome.rejected(RejectionCode.BAD_SIGNATURE, "signer is not the peer")
            channel = (
                claim.channel.chain_id,
                claim.channel.token_network,
                claim.channel.onchain_id,
            )
            last = self._last_nonce.get(channel, 0)
            if claim.proof.nonce <= last:
                detail = f"nonce {claim.proof.nonce} is not above {last}"
                return ClaimOutcome.rejected(RejectionCode.STALE_PROOF, detail)
            self._last_nonce[channel] = claim.proof.nonce
            receipt = f"receipt-{len(self._receipts) + 1}"
            self._receipts[claim.claim_id] = receipt
            return ClaimOutcome.credited(receipt)


def make_claim(claim_id: str = "claim-1", nonce: int = 1, **changes: Any) -> Claim:
    fields: dict[str, Any] = {
        "claim_id": claim_id,
        "sender_node": "node-a",
        "sender_address": "0x" + "1f" * 20,
        "asset_code": "USDC",
        "asset_scale": 6,
        "amount": str(2**200),
        "channel": ChannelRef(chain_id=31337, token_network="0x" + "ab" * 20, onchain_id=7),
        "proof": SignedProof(
            nonce=nonce,
            transferred_amount=str(2**200 * nonce),
            locks_root="0x" + "00" * 32,
            signature=SIGNATURE,
        ),
    }
    fields.update(changes)
    return Claim(**fields)


@pytest.fixture
def handler() -> RecordingHandler:
    return RecordingHandler()


@pytest.fixture
def start_server(handler: RecordingHandler) -> Iterator[Callable[..., ClaimServer]]:
    servers: list[ClaimServer] = []

    def start(**options: Any) -> ClaimServer:
        server = ClaimServer(handler, {"node-a": TOKEN}, **options)
        servers.append(server)
        server.start()
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def server(start_server: Callable[..., ClaimServer]) -> ClaimServer:
    return start_server()


def client_for(server: ClaimServer, token: str = TOKEN, timeout: float = 10.0) -> ClaimClient:
    return ClaimClient(server.url, token, timeout_seconds=timeout)


def raw_post(
    server: ClaimServer, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    address = urlsplit(server.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def auth_headers(claim_id: str = "claim-1") -> dict[str, str]:
    return {
        "Authorization": f"Bearer {TOKEN}",
        "Idempotency-Key": claim_id,
        "Content-Type": "application/json",
    }


def delivery_failure(client: ClaimClient, claim: Claim) -> DeliveryFailed:
    with pytest.raises(DeliveryFailed) as caught:
        client.deliver(claim)
    return caught.value


def test_accepted_claim_reaches_the_handler_intact(
    server: ClaimServer, handler: RecordingHandler
) -> None:
    claim = make_claim()

    accepted = client_for(server).deliver(claim)

    assert (accepted.claim_id, accepted.status, accepted.receipt) == (
        "claim-1",
        "accepted",
        "receipt-1",
    )
    assert handler.claims == [claim]
    assert handler.claims[0].amount_int == 2**200


def test_same_claim_again_is_answered_as_duplicate_with_the_same_receipt(
    server: ClaimServer,
) -> None:
    client = client_for(server)
    first = client.deliver(make_claim())

    second = client.deliver(make_claim())

    assert (first.status, second.status) == ("accepted", "duplicate")
    assert second.receipt == first.receipt


def test_wrong_token_is_401_final_and_never_echoed(
    server: ClaimServer, handler: RecordingHandler, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "tok-wrong-5566778899"

    failure = delivery_failure(client_for(server, token=wrong), make_claim())
    status, answer = raw_post(
        server,
        "/accounts/node-a/claims",
        make_claim().model_dump_json().encode(),
        {"Authorization": f"Bearer {wrong}", "Idempotency-Key": "claim-1"},
    )

    assert (failure.retryable, failure.status, failure.error) == (False, 401, "unauthorized")
    assert (status, answer["error"]) == (401, "unauthorized")
    assert wrong not in json.dumps(answer) and wrong not in str(failure)
    assert wrong not in caplog.text and TOKEN not in caplog.text
    assert handler.claims == []


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/accounts/node-a/claims", {"Idempotency-Key": "claim-1"}),
        ("/accounts/node-a/claims", {"Authorization": TOKEN, "Idempotency-Key": "claim-1"}),
        ("/accounts/node-b/claims", auth_headers()),  # no token configured for node-b
    ],
    ids=["missing", "not-bearer", "unknown-peer"],
)
def test_missing_or_misplaced_credentials_are_401(
    server: ClaimServer, handler: RecordingHandler, path: str, headers: dict[str, str]
) -> None:
    status, answer = raw_post(server, path, make_claim().model_dump_json().encode(), headers)

    assert (status, answer["error"]) == (401, "unauthorized")
    assert handler.claims == []


def test_idempotency_key_must_equal_the_claim_id(
    server: ClaimServer, handler: RecordingHandler
) -> None:
    status, answer = raw_post(
        server,
        "/accounts/node-a/claims",
        make_claim().model_dump_json().encode(),
        auth_headers(claim_id="claim-other"),
    )

    assert (status, answer["error"], answer["claim_id"]) == (400, "invalid", "claim-1")
    assert "Idempotency-Key" in answer["detail"]
    assert handler.claims == []


def test_sender_node_must_match_the_account_in_the_path(
    start_server: Callable[..., ClaimServer], handler: RecordingHandler
) -> None:
    server = start_server()
    claim = make_claim(sender_node="node-c")

    status, answer = raw_post(
        server, "/accounts/node-a/claims", claim.model_dump_json().encode(), auth_headers()
    )

    assert (status, answer["error"]) == (400, "invalid")
    assert answer["detail"].startswith("sender_node: ")
    assert handler.claims == []


def test_invalid_body_is_400_naming_the_field(
    server: ClaimServer, handler: RecordingHandler
) -> None:
    valid = make_claim()
    # model_construct skips validation: this is what a buggy or hostile peer could send.
    broken_proof = SignedProof.model_construct(**{**valid.proof.__dict__, "signature": "0x12"})
    broken = Claim.model_construct(**{**valid.__dict__, "proof": broken_proof})

    failure = delivery_failure(client_for(server), broken)
    status, answer = raw_post(server, "/accounts/node-a/claims", b"{not json", auth_headers())

    assert (failure.retryable, failure.status, failure.error) == (False, 400, "invalid")
    assert "proof.signature" in failure.detail
    assert (status, answer["error"]) == (400, "invalid")
    assert handler.claims == []


def test_stale_claim_is_409_and_final(server: ClaimServer) -> None:
    client = client_for(server)
    client.deliver(make_claim("claim-2", nonce=2))

    failure = delivery_failure(client, make_claim("claim-1", nonce=1))

    assert (failure.retryable, failure.status, failure.error) == (False, 409, "stale_proof")
    assert failure.detail == "nonce 1 is not above 2"
    assert failure.claim_id == "claim-1"


def test_retry_later_is_503_and_retryable_then_the_same_claim_passes(
    server: ClaimServer, handler: RecordingHandler
) -> None:
    handler.not_yet_claim_ids.add("claim-1")
    client = client_for(server)

    failure = delivery_failure(client, make_claim("claim-1"))

    assert (failure.retryable, failure.status, failure.error) == (True, 503, "retry_later")
    assert client.deliver(make_claim("claim-1")).status == "accepted"


def test_other_rejection_is_422_and_final(server: ClaimServer) -> None:
    other_signature = "0x" + "33" * 32 + "22" * 32 + "1c"
    forged = make_claim(proof=make_claim().proof.model_copy(update={"signature": other_signature}))

    failure = delivery_failure(client_for(server), forged)

    assert (failure.retryable, failure.status, failure.error) == (False, 422, "bad_signature")


def test_handler_exception_is_500_retryable_with_a_generic_message(
    server: ClaimServer, handler: RecordingHandler, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="entrypoints.http.api.routes_claims")
    handler.failing_claim_ids.add("claim-1")

    failure = delivery_failure(client_for(server), make_claim())

    assert (failure.retryable, failure.status, failure.error) == (True, 500, "internal")
    assert "hunter2" not in failure.detail
    assert any(record.exc_info for record in caplog.records)  # the cause is in the receiver's log


def test_handler_that_does_not_answer_in_time_is_a_retryable_timeout(
    server: ClaimServer, handler: RecordingHandler
) -> None:
    handler.blocked_until = threading.Event()
    try:
        failure = delivery_failure(client_for(server, timeout=0.5), make_claim())
    finally:
        handler.blocked_until.set()

    assert (failure.retryable, failure.status, failure.error) == (True, None, "timeout")


def test_stopped_server_is_a_retryable_failure(start_server: Callable[..., ClaimServer]) -> None:
    server = start_server()
    client = client_for(server)
    server.stop()

    failure = delivery_failure(client, make_claim())

    assert (failure.retryable, failure.status, failure.error) == (True, None, "unreachable")


def test_oversized_body_is_413(server: ClaimServer, handler: RecordingHandler) -> None:
    body = json.dumps({"claim_id": "claim-1", "padding": "x" * (100 * 1024)}).encode()

    status, answer = raw_post(server, "/accounts/node-a/claims", body, auth_headers())

    assert (status, answer["error"]) == (413, "too_large")
    assert handler.claims == []


def test_body_over_a_configured_limit_is_a_final_413_for_the_client(
    start_server: Callable[..., ClaimServer],
) -> None:
    server = start_server(max_body_bytes=256)

    failure = delivery_failure(client_for(server), make_claim())

    assert (failure.retryable, failure.status, failure.error) == (False, 413, "too_large")


def test_health_answers_ok(server: ClaimServer) -> None:
    address = urlsplit(server.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)
    try:
        connection.request("GET", "/health")
        response = connection.getresponse()
        assert (response.status, json.loads(response.read())) == (200, {"status": "ok"})
    finally:
        connection.close()


def test_logs_hold_no_token_and_no_full_signature(
    server: ClaimServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    client_for(server).deliver(make_claim())
    delivery_failure(client_for(server), make_claim("claim-0", nonce=1))  # stale: logged too

    logged = " ".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert "claim-0" in logged  # the rejection was logged ...
    assert TOKEN not in logged and SIGNATURE not in logged  # ... without the secrets


def test_unknown_path_is_404(server: ClaimServer) -> None:
    status, answer = raw_post(server, "/accounts/node-a/money", b"{}", auth_headers())

    assert (status, answer["error"]) == (404, "not_found")


def test_body_without_content_length_is_refused(
    server: ClaimServer, handler: RecordingHandler
) -> None:
    address = urlsplit(server.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)
    try:
        connection.putrequest("POST", "/accounts/node-a/claims")
        for name, value in auth_headers().items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        answer = json.loads(response.read())
    finally:
        connection.close()

    assert (response.status, answer["error"]) == (411, "invalid")
    assert answer["detail"].startswith("Content-Length: ")
    assert handler.claims == []
