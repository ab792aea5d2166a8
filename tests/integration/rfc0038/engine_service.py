"""The engine under test: a node, its RFC 0038 API on 127.0.0.1 and a connector-scoped client."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from adapters.postgres.idempotency import PostgresIdempotencyStore
from application.clock import ManualClock
from application.engine_messages import SettlementInfoMessages
from application.engine_service import EngineTerms, SettlementEngine
from bootstrap.http import HttpServer
from bootstrap.node import Node, open_node
from bootstrap.settings import Settings
from domain.money import Asset
from entrypoints.http.api.app import create_app
from entrypoints.http.api.auth import token_sha256
from entrypoints.http.api.settings import ApiClientSettings, ApiSettings, Scope

USD9 = Asset("USD", 6)
TOKENS = {"connector": "tok-connector", "reader": "tok-reader"}
SCOPES = {"connector": {Scope.CONNECTOR}, "reader": {Scope.READ}}


@dataclass
class EngineService:
    node: Node
    engine: SettlementEngine
    server: HttpServer
    clock: ManualClock

    def client(self, name: str | None = "connector") -> httpx.Client:
        headers = {"Authorization": f"Bearer {TOKENS[name]}"} if name else {}
        return httpx.Client(base_url=self.server.url, headers=headers, timeout=10.0)


def api_settings() -> ApiSettings:
    clients = {
        name: ApiClientSettings(token_sha256=token_sha256(token), scopes=frozenset(SCOPES[name]))
        for name, token in TOKENS.items()
    }
    return ApiSettings(clients=clients)


@contextmanager
def start_engine(database_url: str, asset: Asset = USD9) -> Iterator[EngineService]:
    clock = ManualClock()
    with open_node(Settings(database_url=database_url)) as node:
        engine = SettlementEngine(
            node.app,
            PostgresIdempotencyStore(node.pool),
            EngineTerms(asset, threshold=5_000_000, credit_limit=10**15),
            clock,
            SettlementInfoMessages({"address": "0x" + "11" * 20}),
        )
        asgi = create_app(node.app, node.read_side(), api_settings(), clock=clock, engine=engine)
        with HttpServer(asgi) as server:
            yield EngineService(node, engine, server, clock)
