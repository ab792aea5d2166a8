"""A node on a fresh database and the service API served from it on 127.0.0.1, one per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_service import USD, Service, api_settings

from application.clock import ManualClock
from bootstrap.http import HttpServer
from bootstrap.node import open_node
from bootstrap.settings import Settings
from entrypoints.http.api.app import create_app


@pytest.fixture
def service(database_url: str) -> Iterator[Service]:
    clock = ManualClock()
    with open_node(Settings(database_url=database_url)) as node:
        node.app.open_peer_account("alice", USD, threshold=1000, settle_to=0, credit_limit=500)
        asgi = create_app(node.app, node.read_side(), api_settings(), clock=clock)
        with HttpServer(asgi) as server:
            yield Service(node, server, clock)
