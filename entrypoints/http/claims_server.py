"""Transitional: the claims route served alone, for callers not yet moved to the one service.

Claims are a route module of the service API (`entrypoints/http/api/routes_claims.py`, mounted by
`create_app(..., claims=ClaimsEndpoint(...))`). Until `bootstrap/settlement.py` mounts it there,
`ClaimServer` keeps its old constructor and serves an app with only that route (and `/health`)
through the same uvicorn `HttpServer` as the API. Delete this module once nothing imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from types import TracebackType

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from adapters.claims.errors import ClaimServerNotStarted
from application.claim_handling import ClaimHandler
from application.claim_messages import RejectionCode
from bootstrap.http import HttpServer
from entrypoints.http.api import routes_claims
from entrypoints.http.api.routes_claims import (
    DEFAULT_MAX_BODY_BYTES,
    ClaimRefused,
    ClaimsEndpoint,
    rejected,
)

__all__ = ["DEFAULT_MAX_BODY_BYTES", "ClaimServer", "claims_only_app"]


def claims_only_app(endpoint: ClaimsEndpoint) -> FastAPI:
    """An ASGI app with the claims route, `/health`, and ClaimRejected answers for other paths."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.include_router(routes_claims.router)
    app.state.claims = endpoint

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    async def other(_: Request, error: Exception) -> JSONResponse:
        status = error.status_code if isinstance(error, HTTPException) else 400
        code = RejectionCode.NOT_FOUND if status in (404, 405) else RejectionCode.INVALID
        answer = HTTPStatus.NOT_FOUND if status in (404, 405) else HTTPStatus.BAD_REQUEST
        return rejected(ClaimRefused(answer, code, "no such path"))

    app.add_exception_handler(HTTPException, other)
    app.add_exception_handler(Exception, other)
    return app


class ClaimServer:
    """Serves the claims route on a thread; `port=0` picks a free port (see `url`)."""

    def __init__(
        self,
        handler: ClaimHandler,
        tokens: Mapping[str, str],
        host: str = "127.0.0.1",
        port: int = 0,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self._app = claims_only_app(ClaimsEndpoint(handler, dict(tokens), max_body_bytes))
        self._host = host
        self._port = port
        self._http: HttpServer | None = None

    @property
    def url(self) -> str:
        if self._http is None:
            raise ClaimServerNotStarted("report its url")
        return self._http.url

    def start(self) -> None:
        if self._http is None:
            self._http = HttpServer(self._app, self._host, self._port).start()

    def stop(self) -> None:
        """Stops serving and waits for the serving thread; idempotent."""
        http, self._http = self._http, None
        if http is not None:
            http.stop()

    def __enter__(self) -> ClaimServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
