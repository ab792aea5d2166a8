"""The claims endpoint's request handling: authenticate, bound, parse, hand over, answer.

`POST /accounts/{sender_node}/claims` with `Authorization: Bearer <token>`,
`Content-Type: application/json` and `Idempotency-Key: <claim_id>`; `GET /health`. Every answer
is ClaimAccepted or ClaimRejected JSON. Bad input is a 4xx naming the field; a 500 only means the
receiver failed, so the sender may send the same claim again.
"""

from __future__ import annotations

import hmac
import json
import logging
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import ValidationError

from application.claim_handling import ClaimHandler, ClaimOutcome
from application.claim_messages import (
    Claim,
    ClaimAccepted,
    ClaimRejected,
    RejectionCode,
    describe_validation_error,
)

logger = logging.getLogger(__name__)

# An oversized body up to this size is read and discarded so the sender sees the 413, not a reset.
_DRAIN_LIMIT_BYTES = 1024 * 1024
_REQUEST_SOCKET_TIMEOUT_SECONDS = 10.0


class ClaimHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that carries what the request handlers need."""

    daemon_threads = True
    claim_handler: ClaimHandler
    tokens: dict[str, str]
    max_body_bytes: int

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver would print to stderr; a sender that hung up early is routine, not a bug.
        error = sys.exc_info()[1]
        facts = {"client": client_address[0], "problem": type(error).__name__}
        if isinstance(error, ConnectionError):
            logger.warning("claim sender hung up before the answer", extra=facts)
        else:
            logger.exception("claim request failed", extra=facts)


class _Rejection(Exception):
    """Stops a request early with a ClaimRejected answer."""

    def __init__(
        self,
        status: HTTPStatus,
        error: RejectionCode | str,
        detail: str,
        claim_id: str | None = None,
    ) -> None:
        self.status = status
        self.error = str(error)
        self.detail = detail
        self.claim_id = claim_id
        super().__init__(f"{status.value} {error}: {detail}")


class ClaimRequestHandler(BaseHTTPRequestHandler):
    """One request: path -> token -> size -> body -> claim -> handler -> answer."""

    server: ClaimHTTPServer
    timeout = _REQUEST_SOCKET_TIMEOUT_SECONDS
    server_version = "settlement-ledger-claims"
    sys_version = ""

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/health":
            self._send_json(HTTPStatus.OK, {"status": "ok"})
        else:
            self._reject(_Rejection(HTTPStatus.NOT_FOUND, RejectionCode.NOT_FOUND, "no such path"))

    def do_POST(self) -> None:
        body_read = False
        try:
            sender_node = self._sender_node_from_path()
            self._check_token(sender_node)
            self._check_content_type()
            body = self._read_body()
            body_read = True
            claim = self._parse_claim(body, sender_node)
        except _Rejection as rejection:
            if not body_read:
                self._discard_body()
            self._reject(rejection)
            return
        self._answer(claim)

    def _sender_node_from_path(self) -> str:
        parts = urlsplit(self.path).path.split("/")
        if len(parts) != 4 or parts[0] or parts[1] != "accounts" or parts[3] != "claims":
            raise _Rejection(HTTPStatus.NOT_FOUND, RejectionCode.NOT_FOUND, "no such path")
        sender_node = unquote(parts[2])
        if not sender_node:
            raise _Rejection(HTTPStatus.NOT_FOUND, RejectionCode.NOT_FOUND, "no such path")
        return sender_node

    def _check_token(self, sender_node: str) -> None:
        presented = _bearer_token(self.headers.get("Authorization", ""))
        expected = self.server.tokens.get(sender_node)
        # Compare even for an unknown peer so the answer's timing does not reveal which peers exist.
        matches = hmac.compare_digest(
            (presented or "").encode(), (expected if expected is not None else "\0").encode()
        )
        if expected is None or presented is None or not matches:
            logger.warning(
                "claim request unauthorized",
                extra={"sender_node": sender_node, "token_presented": presented is not None},
            )
            raise _Rejection(
                HTTPStatus.UNAUTHORIZED,
                RejectionCode.UNAUTHORIZED,
                f"missing or wrong bearer token for account {sender_node!r}",
            )

    def _check_content_type(self) -> None:
        content_type = self.headers.get("Content-Type", "")
        media_type, _, parameters = content_type.partition(";")
        charset = parameters.strip().lower().replace(" ", "")
        if media_type.strip().lower() != "application/json" or charset not in ("", "charset=utf-8"):
            raise _Rejection(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                RejectionCode.UNSUPPORTED_MEDIA_TYPE,
                f"Content-Type: {content_type[:100]!r} is not application/json",
            )

    def _read_body(self) -> bytes:
        length = self._content_length()
        if length is None:
            raise _Rejection(
                HTTPStatus.LENGTH_REQUIRED,
                RejectionCode.INVALID,
                f"Content-Length: {self.headers.get('Content-Length')!r} is not a byte count",
            )
        if length > self.server.max_body_bytes:
            raise _Rejection(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                RejectionCode.TOO_LARGE,
                f"Content-Length: {length} exceeds the limit of {self.server.max_body_bytes} bytes",
            )
        return self.rfile.read(length)

    def _parse_claim(self, body: bytes, sender_node: str) -> Claim:
        key = self.headers.get("Idempotency-Key")
        try:
            claim = Claim.model_validate_json(body)
        except ValidationError as error:
            raise _Rejection(
                HTTPStatus.BAD_REQUEST,
                RejectionCode.INVALID,
                describe_validation_error(error),
                claim_id=_claim_id_hint(body),
            ) from error
        if key != claim.claim_id:
            raise _Rejection(
                HTTPStatus.BAD_REQUEST,
                RejectionCode.INVALID,
                f"Idempotency-Key: {key!r} does not equal claim_id {claim.claim_id!r}",
                claim_id=claim.claim_id,
            )
        if claim.sender_node != sender_node:
            raise _Rejection(
                HTTPStatus.BAD_REQUEST,
                RejectionCode.INVALID,
                f"sender_node: {claim.sender_node!r} does not match the account in the path "
                f"{sender_node!r}",
                claim_id=claim.claim_id,
            )
        return claim

    def _answer(self, claim: Claim) -> None:
        facts = _claim_facts(claim)
        try:
            outcome = self.server.claim_handler.handle(claim)
        except Exception:
            logger.exception("claim handler failed", extra=facts)
            self._reject(
                _Rejection(
                    HTTPStatus.INTERNAL_SERVER_ERROR,
                    RejectionCode.INTERNAL,
                    "the receiver could not process the claim; send it again later",
                    claim_id=claim.claim_id,
                )
            )
            return
        if outcome.accepted:
            status: Literal["accepted", "duplicate"] = (
                "duplicate" if outcome.duplicate else "accepted"
            )
            logger.info("claim %s", status, extra={**facts, "receipt": outcome.receipt})
            answer = ClaimAccepted(
                claim_id=claim.claim_id,
                status=status,
                receipt=outcome.receipt,
                cooperative_signature=outcome.cooperative_signature,
            )
            self._send_json(HTTPStatus.OK, answer.model_dump(mode="json"))
            return
        logger.warning(
            "claim rejected", extra={**facts, "error": outcome.error, "detail": outcome.detail}
        )
        self._reject(_rejection_for(outcome, claim.claim_id))

    def _reject(self, rejection: _Rejection) -> None:
        answer = ClaimRejected(
            claim_id=rejection.claim_id, error=rejection.error, detail=rejection.detail
        )
        self._send_json(rejection.status, answer.model_dump(mode="json"))

    def _send_json(self, status: HTTPStatus, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _content_length(self) -> int | None:
        text = self.headers.get("Content-Length", "")
        if not (text.isascii() and text.isdigit()) or len(text) > 18:
            return None
        return int(text)

    def _discard_body(self) -> None:
        remaining = self._content_length() or 0
        if remaining <= _DRAIN_LIMIT_BYTES:
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 64 * 1024))
                if not chunk:
                    break
                remaining -= len(chunk)
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        # The request line holds no secret (tokens travel in a header); keep it at debug level.
        logger.debug("claim http " + format, *args, extra={"client": self.client_address[0]})


def _bearer_token(header: str) -> str | None:
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def _rejection_for(outcome: ClaimOutcome, claim_id: str) -> _Rejection:
    code = outcome.error or RejectionCode.INTERNAL
    if code in (RejectionCode.STALE_PROOF, RejectionCode.CONFLICT):
        status = HTTPStatus.CONFLICT
    elif code in (RejectionCode.RETRY_LATER, RejectionCode.UNKNOWN_CHANNEL):
        # The receiver has not caught up (packets, or the channel on chain): a retry may pass.
        status = HTTPStatus.SERVICE_UNAVAILABLE
    else:
        status = HTTPStatus.UNPROCESSABLE_ENTITY
    return _Rejection(status, code, outcome.detail, claim_id)


def _claim_facts(claim: Claim) -> dict[str, object]:
    """What is safe to log about a claim: ids and amounts, the signature only as a prefix."""
    return {
        "claim_id": claim.claim_id,
        "sender_node": claim.sender_node,
        "chain_id": claim.channel.chain_id,
        "onchain_id": claim.channel.onchain_id,
        "nonce": claim.proof.nonce,
        "amount": claim.amount,
        "signature_prefix": claim.proof.signature[:10],
    }


def _claim_id_hint(body: bytes) -> str | None:
    """The claim_id of a body that failed validation, if it has a usable one, for the answer."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # deeply nested arrays recurse
        return None
    claim_id = document.get("claim_id") if isinstance(document, dict) else None
    return claim_id if isinstance(claim_id, str) and 0 < len(claim_id) <= 128 else None
