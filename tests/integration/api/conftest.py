"""A node on a fresh database and the service API served from it on 127.0.0.1, one per test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from application.clock import ManualClock
from bootstrap.http import HttpServer
from bootstrap.node import Node, open_node
from bootstrap.settings import Settings
from domain.money import Asset
from entrypoints.http.api.app import create_app
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


@pytest.fixture
def service(database_url: str) -> Iterator[Service]:
    clock = ManualClock()
    with open_node(Settings(database_url=database_url)) as node:
        node.app.open_peer_account("alice", USD, threshold=1000, settle_to=0, credit_limit=500)
        asgi = create_app(node.app, node.read_side(), api_settings(), clock=clock)
        with HttpServer(asgi) as server:
            yield Service(node, server, clock)
