"""The RFC 0038 settlement-engine API, called by our connector (scope `connector`):
`POST /accounts`, `DELETE /accounts/{id}`, `POST /accounts/{id}/settlements` (a Quantity, under
an Idempotency-Key) and `POST /accounts/{id}/messages` (raw bytes in and out).

Routes parse and hand over to `SettlementEngine`; a malformed Quantity is 400 naming the field,
an unknown account 404, a key reused with another request 409.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request, Response

from application.engine_idempotency import IdempotencyKeyReused
from application.engine_messages import UnknownMessage
from application.engine_quantity import InvalidQuantity, parse_quantity
from application.engine_service import SettlementEngine
from domain.engine_account import MAX_ACCOUNT_ID
from domain.errors import InvalidField
from entrypoints.http.api.auth import Caller, require
from entrypoints.http.api.problems import FieldProblem, ProblemError
from entrypoints.http.api.settings import Scope

router = APIRouter(tags=["settlement engine (RFC 0038)"])

Connector = Annotated[Caller, Depends(require(Scope.CONNECTOR))]
AccountPath = Annotated[str, Path(min_length=1, max_length=MAX_ACCOUNT_ID)]
OCTETS = "application/octet-stream"


def _engine(request: Request) -> SettlementEngine:
    engine: SettlementEngine | None = getattr(request.app.state, "engine", None)
    if engine is None:
        raise ProblemError(503, "engine-off", "Settlement engine off", "no engine configured", [])
    return engine


Engine = Annotated[SettlementEngine, Depends(_engine)]


@router.post("/accounts", status_code=201, summary="Set up an account")
async def set_up_account(request: Request, engine: Engine, _: Connector) -> Response:
    body = _json(await request.body())
    account_id = body.get("id") if isinstance(body, dict) else None
    if not isinstance(account_id, str):
        raise _bad("id", "is required: the account's URL-safe identifier, a string")
    try:
        engine.set_up_account(account_id)
    except InvalidField as error:
        raise _bad("id", error.problem) from None
    return Response(status_code=201)


@router.delete("/accounts/{account_id}", status_code=204, summary="Delete an account")
def delete_account(account_id: AccountPath, engine: Engine, _: Connector) -> Response:
    engine.delete_account(account_id)
    return Response(status_code=204)


@router.post(
    "/accounts/{account_id}/settlements",
    status_code=201,
    summary="Perform an outgoing settlement of a Quantity, idempotently",
    responses={409: {"description": "The Idempotency-Key was used with another request."}},
)
async def settle(
    account_id: AccountPath,
    request: Request,
    engine: Engine,
    _: Connector,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> Response:
    try:
        quantity = parse_quantity(_json(await request.body()))
        answer = engine.settle(account_id, idempotency_key or "", quantity)
    except InvalidQuantity as error:
        location = "header" if error.field == "Idempotency-Key" else "body"
        raise _bad(error.field, error.problem, location) from None
    except IdempotencyKeyReused as error:
        problem = FieldProblem("Idempotency-Key", str(error), "header")
        raise ProblemError(
            409, "idempotency-key-reused", "Key reused", str(error), [problem]
        ) from None
    return Response(answer.body, status_code=answer.status, media_type=answer.content_type)


@router.post(
    "/accounts/{account_id}/messages",
    status_code=201,
    summary="Handle a message from the peer's settlement engine",
    response_class=Response,
)
async def receive_message(
    account_id: AccountPath, request: Request, engine: Engine, _: Connector
) -> Response:
    try:
        answer = engine.receive_message(account_id, await request.body())
    except UnknownMessage as error:
        raise _bad("message", error.problem) from None
    return Response(answer, status_code=201, media_type=OCTETS)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise _bad("body", "is not valid JSON") from None


def _bad(field: str, problem: str, location: str = "body") -> ProblemError:
    return ProblemError(
        400,
        "invalid-request",
        "Invalid request",
        f"{field}: {problem}",
        [FieldProblem(field, problem, location)],
    )
