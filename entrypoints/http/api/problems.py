"""Errors as RFC 9457 problem documents (`application/problem+json`), one handler per kind.

Every 4xx names the field at fault in `errors` ({field, in, problem}); what the caller sent is
not echoed back, and an unexpected failure is a bare 500 with no stack trace (it is logged).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from application.store import AlreadyExists, NotFound
from domain.errors import (
    AccountPaused,
    BatchConflict,
    CreditLimitExceeded,
    DomainError,
    InvalidBatch,
    InvalidField,
    LossyConversion,
)
from entrypoints.http.api.auth import Forbidden, Unauthenticated

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
_LOCATIONS = {"body", "query", "path", "header"}
# Fields the routes check themselves (not in a body model), and where a request carries them.
_FIELD_LOCATIONS = {"cursor": "query", "limit": "query", "stuck": "query", "aggregate_id": "path"}


@dataclass(frozen=True)
class FieldProblem:
    field: str
    problem: str
    location: str = "body"

    def as_json(self) -> dict[str, str]:
        return {"field": self.field, "in": self.location, "problem": self.problem}


class ProblemError(Exception):
    """A refusal the API itself decides (e.g. 413), with the fields at fault."""

    def __init__(
        self, status: int, slug: str, title: str, detail: str, errors: Sequence[FieldProblem]
    ) -> None:
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.errors = list(errors)
        super().__init__(detail)


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_JSON


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    errors: Sequence[FieldProblem] = (),
    headers: Mapping[str, str] | None = None,
) -> ProblemResponse:
    body = {
        "type": f"/problems/{slug}" if slug else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "errors": [e.as_json() for e in errors],
    }
    return ProblemResponse(body, status_code=status, headers=headers)


def field_path(loc: Sequence[int | str]) -> tuple[str, str]:
    """(`entries[0].amount`, `body`) from pydantic's ("body", "entries", 0, "amount")."""
    parts = list(loc)
    location = str(parts.pop(0)) if parts and parts[0] in _LOCATIONS else "body"
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or location, location


def _validation(_: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, RequestValidationError)
    fields = []
    for item in error.errors():
        if item.get("type") == "json_invalid":
            fields.append(FieldProblem("body", "is not valid JSON"))
            continue
        name, location = field_path(item.get("loc", ()))
        fields.append(FieldProblem(name, str(item.get("msg", "is invalid")), location))
    named = ", ".join(sorted({f.field for f in fields}))
    return problem(422, "invalid-request", "Invalid request", f"invalid: {named}", fields)


def _domain(_: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, DomainError)
    status, slug, title, field = _classify(error)
    location = _FIELD_LOCATIONS.get(field or "", "body")
    errors = [FieldProblem(field, str(error), location)] if field else []
    return problem(status, slug, title, str(error), errors)


def _classify(error: DomainError) -> tuple[int, str, str, str | None]:
    if isinstance(error, InvalidField):
        return 422, "invalid-field", "Invalid field", error.field
    if isinstance(error, InvalidBatch):
        field = (
            error.problem.split("=", 1)[0]
            if error.problem.startswith("entries[")
            else ("batch_id" if error.problem.startswith("batch_id") else "entries")
        )
        return 422, "invalid-batch", "Invalid batch", field
    if isinstance(error, BatchConflict):
        return 409, "batch-conflict", "Batch recorded with other entries", "batch_id"
    if isinstance(error, CreditLimitExceeded):
        return 409, "credit-limit-exceeded", "Credit limit exceeded", "entries"
    if isinstance(error, AccountPaused):
        return 409, "account-paused", "Account paused", "peer"
    if isinstance(error, LossyConversion):
        return 422, "lossy-conversion", "Amount not representable", "amount"
    return 409, "rejected", "Command rejected in the current state", None


def _not_found(_: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, NotFound)
    field = "peer" if error.kind in ("PeerAccount", "peer account") else "id"
    errors = [FieldProblem(field, f"no {error.kind} {error.key}", "path")]
    return problem(404, "not-found", "Not found", str(error), errors)


def _already_exists(_: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, AlreadyExists)
    return problem(409, "already-exists", "Already exists", str(error))


def _unauthenticated(_: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, Unauthenticated)
    errors = [FieldProblem("Authorization", error.problem, "header")]
    headers = {"WWW-Authenticate": "Bearer"}
    return problem(401, "unauthenticated", "Unauthenticated", error.problem, errors, headers)


def _forbidden(_: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, Forbidden)
    errors = [FieldProblem("Authorization", str(error), "header")]
    return problem(403, "forbidden", "Forbidden", str(error), errors)


def _refused(_: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, ProblemError)
    return problem(error.status, error.slug, error.title, error.detail, error.errors)


def _http(_: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, HTTPException)
    detail = str(error.detail)
    return problem(error.status_code, "", detail, detail, headers=error.headers)


def _unexpected(request: Request, error: Exception) -> ProblemResponse:
    log.exception("request failed", extra={"path": request.url.path})
    return problem(500, "internal", "Internal error", "the request failed; see the server log")


def install_problem_handlers(app: FastAPI) -> None:
    handlers: list[tuple[type[Exception], Any]] = [
        (RequestValidationError, _validation),
        (NotFound, _not_found),
        (AlreadyExists, _already_exists),
        (DomainError, _domain),
        (Unauthenticated, _unauthenticated),
        (Forbidden, _forbidden),
        (ProblemError, _refused),
        (HTTPException, _http),
        (Exception, _unexpected),
    ]
    for kind, handler in handlers:
        app.add_exception_handler(kind, handler)
