"""Bearer-token authentication with scopes.

The presented token is hashed and compared with every configured client's hash in constant time
(`hmac.compare_digest`), all of them, so the response time says nothing about which client or how
much of a hash matched. Tokens never reach a log or an error body.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from entrypoints.http.api.settings import ApiClientSettings, Scope


@dataclass(frozen=True)
class Caller:
    """The authenticated client: its configured name (recorded on operator actions) and scopes."""

    name: str
    scopes: frozenset[Scope]


class Unauthenticated(Exception):
    """No bearer token, or one no client has (401)."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(problem)


class Forbidden(Exception):
    """An authenticated client without the scope a route needs (403)."""

    def __init__(self, client: str, scope: Scope) -> None:
        self.client = client
        self.scope = scope
        super().__init__(f"client {client!r} lacks the {scope.value!r} scope")


class TokenTable:
    def __init__(self, clients: Mapping[str, ApiClientSettings]) -> None:
        self._clients = [
            (name, bytes.fromhex(c.token_sha256), frozenset(c.scopes))
            for name, c in sorted(clients.items())
        ]

    def caller(self, token: str | None) -> Caller:
        if not token:
            raise Unauthenticated("an Authorization: Bearer <token> header is required")
        digest = hashlib.sha256(token.encode()).digest()
        found: Caller | None = None
        for name, expected, scopes in self._clients:
            if hmac.compare_digest(digest, expected) and found is None:
                found = Caller(name, scopes)
        if found is None:
            raise Unauthenticated("the bearer token is not valid")
        return found


_bearer = HTTPBearer(auto_error=False, description="A client's token; see ApiSettings.clients.")


def require(scope: Scope) -> Callable[..., Caller]:
    """A dependency: the caller, if it presents a valid token with `scope`."""

    def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),  # noqa: B008
    ) -> Caller:
        tokens: TokenTable = request.app.state.tokens
        caller = tokens.caller(credentials.credentials if credentials is not None else None)
        if scope not in caller.scopes:
            raise Forbidden(caller.name, scope)
        return caller

    return dependency


def token_sha256(token: str) -> str:
    """What to configure for a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()
