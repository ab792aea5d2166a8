"""`POST /accounts/{sender_node}/claims`: a peer node sends a claim (a signed balance proof).

Authenticated by the peer's own bearer token (`ClaimsSettings` tokens, compared in constant time
whether or not the peer exists) or by an API client named as the peer with the `peer` scope (403
without it). Then bounded (413), typed (415), parsed (400 naming the field, the Idempotency-Key
equal to the claim id, the sender the one in the path) and handed to the `ClaimHandler`. Every
answer is ClaimAccepted or ClaimRejected JSON, which `adapters/claims/client.py` reads; only a
failing handler is a 500, which the sender retries.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError

from application.claim_handling import ClaimHandler, ClaimOutcome
from application.claim_messages import (
    Claim,
    ClaimAccepted,
    ClaimRejected,
    RejectionCode,
    describe_validation_error,
)
from entrypoints.http.api.auth import TokenTable, Unauthenticated
from entrypoints.http.api.settings import Scope

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 64 * 1024

router = APIRouter(tags=["claims"])
_bearer = HTTPBearer(auto_error=False, description="The peer's claims token.")


@dataclass(frozen=True)
class ClaimsEndpoint:
    """What the route needs: the handler, each peer's token, the body limit."""

    handler: ClaimHandler
    tokens: Mapping[str, str] = field(default_factory=dict)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES


class ClaimRefused(Exception):
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


def rejected(refusal: ClaimRefused) -> JSONResponse:
    answer = ClaimRejected(claim_id=refusal.claim_id, error=refusal.error, detail=refusal.detail)
    return JSONResponse(answer.model_dump(mode="json"), status_code=refusal.status.value)


@router.post(
    "/accounts/{sender_node}/claims",
    summary="Receive a claim from a peer node",
    responses={
        200: {"description": "ClaimAccepted: credited, or credited before (duplicate)."},
        409: {"description": "ClaimRejected: a stale proof, or the claim id with another body."},
        415: {"description": "ClaimRejected: the body is not application/json."},
        503: {"description": "ClaimRejected: not yet; send the same claim again later."},
    },
)
async def receive_claim(
    sender_node: Annotated[str, Path(min_length=1, max_length=128)],
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> JSONResponse:
    endpoint: ClaimsEndpoint | None = getattr(request.app.state, "claims", None)
    if endpoint is None:
        return rejected(
            ClaimRefused(HTTPStatus.NOT_FOUND, RejectionCode.NOT_FOUND, "no claims here")
        )
    try:
        _check_token(request, endpoint, sender_node, credentials)
        _check_content_type(request.headers.get("Content-Type", ""))
        body = await _read_body(request, endpoint.max_body_bytes)
        claim = _parse_claim(body, sender_node, request.headers.get("Idempotency-Key"))
    except ClaimRefused as refusal:
        return rejected(refusal)
    return await run_in_threadpool(_answer, endpoint.handler, claim)


def _check_token(
    request: Request,
    endpoint: ClaimsEndpoint,
    sender_node: str,
    credentials: HTTPAuthorizationCredentials | None,
) -> None:
    presented = credentials.credentials if credentials is not None else None
    expected = endpoint.tokens.get(sender_node)
    # Compare even for an unknown peer so the answer's timing does not reveal which peers exist.
    matches = hmac.compare_digest(
        (presented or "").encode(), (expected if expected is not None else "\0").encode()
    )
    if expected is not None and presented is not None and matches:
        return
    tokens: TokenTable | None = getattr(request.app.state, "tokens", None)
    if tokens is not None and presented is not None:
        try:
            caller = tokens.caller(presented)
        except Unauthenticated:
            caller = None
        if caller is not None and caller.name == sender_node and Scope.PEER in caller.scopes:
            return
        if caller is not None:
            raise ClaimRefused(
                HTTPStatus.FORBIDDEN,
                "forbidden",
                f"client {caller.name!r} may not send claims "
                f"for account {sender_node!r} (needs the peer scope and the peer's name)",
            )
    log.warning(
        "claim request unauthorized",
        extra={"sender_node": sender_node, "token_presented": presented is not None},
    )
    raise ClaimRefused(
        HTTPStatus.UNAUTHORIZED,
        RejectionCode.UNAUTHORIZED,
        f"missing or wrong bearer token for account {sender_node!r}",
    )


def _check_content_type(content_type: str) -> None:
    media_type, _, parameters = content_type.partition(";")
    charset = parameters.strip().lower().replace(" ", "")
    if media_type.strip().lower() != "application/json" or charset not in ("", "charset=utf-8"):
        raise ClaimRefused(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            RejectionCode.UNSUPPORTED_MEDIA_TYPE,
            f"Content-Type: {content_type[:100]!r} is not application/json",
        )


async def _read_body(request: Request, limit: int) -> bytes:
    text = request.headers.get("Content-Length", "")
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise ClaimRefused(
            HTTPStatus.LENGTH_REQUIRED,
            RejectionCode.INVALID,
            f"Content-Length: {request.headers.get('Content-Length')!r} is not a byte count",
        )
    if int(text) > limit:
        raise ClaimRefused(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            RejectionCode.TOO_LARGE,
            f"Content-Length: {text} exceeds the limit of {limit} bytes",
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:  # more than declared: refused without holding it
            raise ClaimRefused(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                RejectionCode.TOO_LARGE,
                f"body exceeds the limit of {limit} bytes",
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_claim(body: bytes, sender_node: str, key: str | None) -> Claim:
    try:
        claim = Claim.model_validate_json(body)
    except ValidationError as error:
        raise ClaimRefused(
            HTTPStatus.BAD_REQUEST,
            RejectionCode.INVALID,
            describe_validation_error(error),
            claim_id=_claim_id_hint(body),
        ) from None
    if key != claim.claim_id:
        raise ClaimRefused(
            HTTPStatus.BAD_REQUEST,
            RejectionCode.INVALID,
            f"Idempotency-Key: {key!r} does not equal claim_id {claim.claim_id!r}",
            claim_id=claim.claim_id,
        )
    if claim.sender_node != sender_node:
        raise ClaimRefused(
            HTTPStatus.BAD_REQUEST,
            RejectionCode.INVALID,
            f"sender_node: {claim.sender_node!r} does not match the account in the path "
            f"{sender_node!r}",
            claim_id=claim.claim_id,
        )
    return claim


def _answer(handler: ClaimHandler, claim: Claim) -> JSONResponse:
    facts = _claim_facts(claim)
    try:
        outcome = handler.handle(claim)
    except Exception:
        log.exception("claim handler failed", extra=facts)
        return rejected(
            ClaimRefused(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                RejectionCode.INTERNAL,
                "the receiver could not process the claim; send it again later",
                claim_id=claim.claim_id,
            )
        )
    if outcome.accepted:
        status: Literal["accepted", "duplicate"] = "duplicate" if outcome.duplicate else "accepted"
        log.info("claim %s", status, extra={**facts, "receipt": outcome.receipt})
        answer = ClaimAccepted(
            claim_id=claim.claim_id,
            status=status,
            receipt=outcome.receipt,
            cooperative_signature=outcome.cooperative_signature,
        )
        return JSONResponse(answer.model_dump(mode="json"), status_code=200)
    log.warning("claim rejected", extra={**facts, "error": outcome.error, "detail": outcome.detail})
    return rejected(_refusal_for(outcome, claim.claim_id))


def _refusal_for(outcome: ClaimOutcome, claim_id: str) -> ClaimRefused:
    code = outcome.error or RejectionCode.INTERNAL
    if code in (RejectionCode.STALE_PROOF, RejectionCode.CONFLICT):
        status = HTTPStatus.CONFLICT
    elif code in (RejectionCode.RETRY_LATER, RejectionCode.UNKNOWN_CHANNEL):
        # The receiver has not caught up (packets, or the channel on chain): a retry may pass.
        status = HTTPStatus.SERVICE_UNAVAILABLE
    else:
        status = HTTPStatus.UNPROCESSABLE_ENTITY
    return ClaimRefused(status, code, outcome.detail, claim_id)


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
