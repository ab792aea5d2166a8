"""The service under test: a node on a fresh database, the API served from it, clients per scope."""

from __future__ import annotations

from dataclasses import dataclass

from application.clock import ManualClock
from bootstrap.http import HttpServer
from bootstrap.node import Node
from domain.money import Asset
from entrypoints.http.api.auth import token_sha256
from entrypoints.http.api.settings import ApiClientSettings, ApiSettings, Scope
from entrypoints.http.client import ApiClient

USD = Asset("USD", 2)
TOKENS = {
    "connector": "tok-connector",
    "reader": "tok-reader",
    "ops-alice": "tok-operator",
    "peer-b": "tok-peer",
}
SCOPES = {
    "connector": {Scope.CONNECTOR},
    "reader": {Scope.READ},
    "ops-alice": {Scope.OPERATOR, Scope.READ},
    "peer-b": {Scope.PEER},
}
MAX_BODY = 64 * 1024
MAX_ENTRIES = 200


@dataclass
class Service:
    node: Node
    server: HttpServer
    clock: ManualClock

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, name: str | None) -> ApiClient:
        return ApiClient(self.url, TOKENS[name] if name else None)


def api_settings() -> ApiSettings:
    clients = {
        name: ApiClientSettings(token_sha256=token_sha256(token), scopes=frozenset(SCOPES[name]))
        for name, token in TOKENS.items()
    }
    return ApiSettings(clients=clients, max_body_bytes=MAX_BODY, max_batch_entries=MAX_ENTRIES)
