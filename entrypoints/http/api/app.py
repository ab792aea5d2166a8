"""Builds the service API: routes, authentication, problem documents, body and rate limits.

`build_api` needs only settings (so the OpenAPI document can be generated without a database);
`create_app` adds what requests use: the application, the read side and a clock.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, FastAPI

from application.app import SettlementApp
from application.clock import system_clock
from application.engine_service import SettlementEngine
from application.rate_limiting import Limited, RateLimiter
from entrypoints.http.api.auth import TokenTable
from entrypoints.http.api.limits import BodyLimit
from entrypoints.http.api.models import Problem
from entrypoints.http.api.node_operations import NodeOperations
from entrypoints.http.api.problems import install_problem_handlers
from entrypoints.http.api.rate_limits import OnLimited, RateLimit
from entrypoints.http.api.routes_claims import ClaimsEndpoint
from entrypoints.http.api.routes_health import package_version
from entrypoints.http.api.settings import ApiSettings
from projections.fraud_findings import RiskReader
from projections.read_side import ReadSide

ROUTE_MODULES = [
    "entrypoints.http.api.routes_health",
    "entrypoints.http.api.routes_packets",
    "entrypoints.http.api.routes_reads",
    "entrypoints.http.api.routes_operator",
    "entrypoints.http.api.routes_operator_chain",
    "entrypoints.http.api.routes_risk",
    "entrypoints.http.api.routes_rfc0038",
    "entrypoints.http.api.routes_claims",
]
"""Each module has `router`; a new area (e.g. claims from peers) is one more entry."""

_PROBLEM: dict[str, Any] = {"model": Problem, "content": {"application/problem+json": {}}}
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {**_PROBLEM, "description": text}
    for status, text in [
        (400, "Malformed input (RFC 0038 routes); `errors` names the field."),
        (401, "No valid bearer token."),
        (403, "The token lacks the route's scope."),
        (404, "No such peer account or aggregate."),
        (413, "Body or batch over the configured limit."),
        (422, "A field is invalid; `errors` names each."),
        (429, "Over a rate limit; the Retry-After header says when to try again."),
    ]
}


def build_api(settings: ApiSettings) -> FastAPI:
    api = FastAPI(
        title="settlement-ledger node API",
        version=package_version(),
        description="Packet batches from connectors, the RFC 0038 settlement engine, claims "
        "from peers, reads, operator actions and health.",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    for name in ROUTE_MODULES:
        router: APIRouter = importlib.import_module(name).router
        public = name.endswith("routes_health")
        api.include_router(router, responses=None if public else PROBLEM_RESPONSES)
    install_problem_handlers(api)
    api.state.tokens = TokenTable(settings.clients)
    api.state.rate_limit_listeners = listeners = list[OnLimited]()
    api.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    # Added last, so it runs first: a limited request is refused before its body is read.
    limiter = RateLimiter(settings.rate_limits)
    api.add_middleware(RateLimit, limiter=limiter, tokens=api.state.tokens, listeners=listeners)
    api.openapi = lambda: _problem_media_types(FastAPI.openapi(api))  # type: ignore[method-assign]
    api.state.api_settings = settings
    return api


def _problem_media_types(document: dict[str, Any]) -> dict[str, Any]:
    """Errors are documented under application/problem+json, the media type they are sent as."""
    for operation in (op for path in document["paths"].values() for op in path.values()):
        for status, response in operation.get("responses", {}).items():
            content = response.get("content", {})
            # "application/json" is there only the first time: the document is cached.
            moved = "application/problem+json" in content and "application/json" in content
            if status.startswith(("4", "5")) and moved:
                content["application/problem+json"] = content.pop("application/json")
    return document


def create_app(
    app: SettlementApp,
    read_side: ReadSide,
    settings: ApiSettings,
    clock: Callable[[], datetime] = system_clock,
    *,
    on_limited: Callable[[Limited], None] | None = None,
    risk: RiskReader | None = None,
    engine: SettlementEngine | None = None,
    claims: ClaimsEndpoint | None = None,
    operations: NodeOperations | None = None,
) -> FastAPI:
    """`on_limited` is called with every request refused by a rate limit (the node's metric);
    `risk` reads the fraud findings for `/v1/risk`; `engine` serves the RFC 0038 routes (503
    without one), `claims` the claims route (404 without one); `operations` the operator's
    chain routes and live rails (503 without: no settlement process in this process)."""
    api = build_api(settings)
    api.state.operations = operations
    api.state.risk = risk
    api.state.engine = engine
    api.state.claims = claims
    if on_limited is not None:
        api.state.rate_limit_listeners.append(on_limited)
    api.state.settlement_app = app
    api.state.read_side = read_side
    api.state.clock = clock
    return api


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document as committed in schemas/openapi.json."""
    return build_api(ApiSettings()).openapi()
