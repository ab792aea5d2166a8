"""The node's HTTP service as `settle run` serves it: the API (packets, reads, operator
actions, health) with `/metrics` mounted, and the metrics fed from the events and read models."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from adapters.metrics.collectors import ReadModelCollector
from adapters.metrics.definitions import NodeMetrics
from adapters.metrics.event_metrics import EventMetrics, LiveEventFeed
from application.engine_service import SettlementEngine
from bootstrap.followers import follower_names
from bootstrap.health import Check
from bootstrap.http import HttpServer
from bootstrap.node import Node
from domain.peer_account import PeerAccount
from entrypoints.http.api.app import create_app
from entrypoints.http.api.node_operations import NodeOperations
from entrypoints.http.api.routes_claims import ClaimsEndpoint
from projections.fraud_findings import RiskReader


@dataclass
class Observability:
    metrics: NodeMetrics
    feed: LiveEventFeed
    server: HttpServer

    def follow_events(self, stop: threading.Event) -> None:
        self.feed.run(stop)


def build_observability(
    node: Node,
    clock: Callable[[], datetime],
    checks: dict[str, Check] | None = None,
    *,
    engine: SettlementEngine | None = None,
    claims: ClaimsEndpoint | None = None,
    metrics: NodeMetrics | None = None,
    operations: NodeOperations | None = None,
) -> Observability:
    """The node's metrics (new, or those the caller already counts into), its event feed and
    its HTTP service with `/metrics`."""
    metrics = metrics or NodeMetrics()
    names = follower_names(node)
    metrics.registry.register(ReadModelCollector(node.pool.connection, lambda: names))

    def requested_at(settlement_id: UUID) -> datetime | None:
        return node.app.settlement(settlement_id).requested_at

    def asset_of(account_id: UUID) -> str:
        return str(node.app.load(account_id, PeerAccount).asset_code)

    feed = LiveEventFeed(node.app, EventMetrics(metrics, requested_at, asset_of))
    api = create_app(
        node.app,
        node.read_side(),
        node.settings.api,
        clock,
        on_limited=lambda refused: metrics.rate_limited.labels(
            refused.kind.value, refused.scope
        ).inc(),
        risk=RiskReader(node.pool),
        engine=engine,
        claims=claims,
        operations=operations,
    )
    api.add_route("/metrics", _metrics_endpoint(metrics), include_in_schema=False)
    api.state.dependency_checks = checks or {}
    api.state.on_dependency = lambda name, up: metrics.dependency_up.labels(name).set(int(up))
    server = HttpServer(api, node.settings.api.host, node.settings.api.port)
    return Observability(metrics, feed, server)


def _metrics_endpoint(metrics: NodeMetrics) -> Callable[[Request], Response]:
    """`GET /metrics` in Prometheus's text format (no authentication, like /healthz)."""

    def endpoint(request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return endpoint
