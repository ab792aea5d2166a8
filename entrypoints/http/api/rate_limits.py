"""Rate limits on the API's intake (packet batches, claims, settlement requests): 429 with
Retry-After before the request reaches a route, so a limited request records nothing.

It runs outermost, before the body is read: the client is told from its bearer token (looked up
in the same constant-time table as authentication), the peer from the path. Reads, operator
actions and health are not limited here. Each refusal calls `on_limited` (the node counts it in
`settle_rate_limited_requests_total`) and a client's refusals are logged at most once per
interval, with how many the line stands for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from application.rate_limiting import Limited, LogThrottle, RateLimiter, RequestKind
from entrypoints.http.api.auth import TokenTable, Unauthenticated
from entrypoints.http.api.problems import FieldProblem, problem

log = logging.getLogger(__name__)

OnLimited = Callable[[Limited], None]
UNAUTHENTICATED = "(unauthenticated)"


def classify(method: str, path: str) -> tuple[RequestKind, str | None] | None:
    """The kind of a limited request and the peer it names, or None if it is not limited."""
    if method != "POST":
        return None
    parts = [p for p in path.split("/") if p]
    peer = parts[2] if len(parts) > 2 and parts[:2] == ["v1", "peers"] else None
    last = parts[-1] if parts else ""
    if last == "packet-batches":
        return RequestKind.PACKETS, peer
    if "claims" in parts:
        index = parts.index("claims")
        sender = parts[index + 1] if peer is None and len(parts) > index + 1 else peer
        return RequestKind.CLAIMS, sender
    if last == "settlements":
        return RequestKind.SETTLEMENTS, peer
    return None


class RateLimit:
    def __init__(
        self,
        app: ASGIApp,
        limiter: RateLimiter,
        tokens: TokenTable,
        listeners: list[OnLimited],
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.tokens = tokens
        self.listeners = listeners  # filled after the app is built (the node's metrics)
        settings = limiter.settings
        self._logs = LogThrottle(settings.log_interval_seconds, settings.max_buckets)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = classify(scope["method"], scope["path"])
        if found is None:
            await self.app(scope, receive, send)
            return
        kind, peer = found
        client = self._client(scope)
        limited = self.limiter.admit(kind, client, peer)
        if limited is None:
            await self.app(scope, receive, send)
            return
        self._report(limited, client)
        response = problem(
            429,
            "rate-limited",
            "Too many requests",
            f"the {limited.scope} limit on {kind.value} is reached;"
            f" retry after {limited.retry_after_seconds} s",
            [FieldProblem(limited.scope, f"over the {kind.value} rate limit", "header")],
            headers={"Retry-After": str(limited.retry_after_seconds)},
        )
        await response(scope, receive, send)

    def _client(self, scope: Scope) -> str:
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = header.partition(" ")
        try:
            return self.tokens.caller(token.strip() if scheme.lower() == "bearer" else None).name
        except Unauthenticated:
            return UNAUTHENTICATED

    def _report(self, limited: Limited, client: str) -> None:
        for listener in self.listeners:
            listener(limited)
        count = self._logs.due(client)
        if count:
            log.warning(
                "client rate limited",
                extra={
                    "client": client,
                    "kind": limited.kind.value,
                    "limit": limited.scope,
                    "key": limited.key,
                    "refusals": count,
                },
            )
