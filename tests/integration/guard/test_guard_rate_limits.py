"""Rate limits on the real service on 127.0.0.1: a flooding client gets 429 with Retry-After and
records nothing past its burst, while a well-behaved client is never refused; refusals are
counted in the node's metric. Refill rates are tiny, so what is admitted is the burst exactly."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from adapters.metrics.definitions import NodeMetrics
from application.rate_limiting import Rate, RateLimitSettings, RequestKind
from bootstrap.http import HttpServer
from bootstrap.node import Node, open_node
from bootstrap.settings import Settings
from domain.money import Asset
from domain.peer_account import PeerAccount
from entrypoints.http.api.app import create_app
from entrypoints.http.api.auth import token_sha256
from entrypoints.http.api.settings import ApiClientSettings, ApiSettings, Scope

USD = Asset("USD", 2)
TOKENS = {"flooder": "tok-flood", "calm": "tok-calm", "other": "tok-other"}
SLOW = 0.001  # tokens per second: nothing refills while a test runs
FLOOD_BURST = 20
PEER_BURST = 5


@dataclass
class Limited:
    node: Node
    url: str
    metrics: NodeMetrics


@pytest.fixture
def limited(database_url: str) -> Iterator[Limited]:
    clients = {
        name: ApiClientSettings(
            token_sha256=token_sha256(token), scopes=frozenset({Scope.CONNECTOR})
        )
        for name, token in TOKENS.items()
    }
    limits = RateLimitSettings(
        total=Rate(per_second=10_000, burst=10_000),
        per_client={RequestKind.PACKETS: Rate(per_second=SLOW, burst=FLOOD_BURST)},
        per_peer={RequestKind.PACKETS: Rate(per_second=10_000, burst=10_000)},
        peers={"carol": {RequestKind.PACKETS: Rate(per_second=SLOW, burst=PEER_BURST)}},
    )
    settings = ApiSettings(clients=clients, rate_limits=limits)
    metrics = NodeMetrics()

    def count(refused: object) -> None:
        metrics.rate_limited.labels("packets", getattr(refused, "scope")).inc()  # noqa: B009

    with open_node(Settings(database_url=database_url)) as node:
        for peer in ("alice", "bob", "carol"):
            node.app.open_peer_account(peer, USD, threshold=10**9, settle_to=0, credit_limit=10**9)
        asgi = create_app(node.app, node.read_side(), settings, on_limited=count)
        with HttpServer(asgi) as server:
            yield Limited(node, server.url, metrics)


def _post(http: httpx.Client, token: str, peer: str, batch_id: str) -> httpx.Response:
    body = {
        "batch_id": batch_id,
        "entries": [{"packet_id": batch_id, "direction": "incoming", "amount": 1}],
    }
    return http.post(
        f"/v1/peers/{peer}/assets/USD/packet-batches",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )


def _recorded(node: Node, peer: str) -> int:
    events = node.app.history(PeerAccount.create_id(peer, "USD"))
    return sum(isinstance(e, PeerAccount.PacketsRecorded) for e in events)


def test_a_flooding_client_is_refused_past_its_burst_and_what_is_refused_records_nothing(
    limited: Limited,
) -> None:
    with httpx.Client(base_url=limited.url) as http:
        statuses = [_post(http, TOKENS["flooder"], "alice", f"b{i}").status_code for i in range(50)]
        refused = _post(http, TOKENS["flooder"], "alice", "late")
    assert statuses == [201] * FLOOD_BURST + [429] * (50 - FLOOD_BURST)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["type"] == "/problems/rate-limited"
    assert _recorded(limited.node, "alice") == FLOOD_BURST
    counted = limited.metrics.registry.get_sample_value(
        "settle_rate_limited_requests_total", {"kind": "packets", "limit": "client"}
    )
    assert counted == 50 - FLOOD_BURST + 1


def test_a_well_behaved_client_is_never_refused_while_another_floods(limited: Limited) -> None:
    calm_statuses: list[int] = []
    flooding = threading.Event()

    def flood() -> None:
        with httpx.Client(base_url=limited.url) as http:
            for index in range(200):
                _post(http, TOKENS["flooder"], "alice", f"f{index}")
                flooding.set()

    flooder = threading.Thread(target=flood)
    flooder.start()
    try:
        flooding.wait(30)
        with httpx.Client(base_url=limited.url) as http:
            for index in range(FLOOD_BURST - 1):
                calm_statuses.append(_post(http, TOKENS["calm"], "bob", f"c{index}").status_code)
    finally:
        flooder.join()
    assert calm_statuses == [201] * (FLOOD_BURST - 1)
    assert _recorded(limited.node, "bob") == FLOOD_BURST - 1
    assert _recorded(limited.node, "alice") == FLOOD_BURST


def test_a_peer_limit_binds_every_client_sending_for_that_peer(limited: Limited) -> None:
    with httpx.Client(base_url=limited.url) as http:
        first = [_post(http, TOKENS["calm"], "carol", f"k{i}").status_code for i in range(3)]
        second = [_post(http, TOKENS["other"], "carol", f"o{i}").status_code for i in range(3)]
        elsewhere = _post(http, TOKENS["other"], "bob", "x").status_code
    assert first + second == [201] * PEER_BURST + [429]
    assert elsewhere == 201
    assert _recorded(limited.node, "carol") == PEER_BURST
