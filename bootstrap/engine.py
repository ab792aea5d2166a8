"""The RFC 0038 settlement engine of a node, when enabled: the API's engine routes, the follower
that records what our connector must hear of, and the sender that tells it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from adapters.connector.client import ConnectorClient
from adapters.postgres.idempotency import PostgresIdempotencyStore
from application.engine_messages import SettlementInfoMessages
from application.engine_service import EngineTerms, SettlementEngine
from bootstrap.node import Node
from domain.money import Asset
from projections.connector_notices import ConnectorNotices, ConnectorNotifier

_SEND_EVERY_SECONDS = 1.0


@dataclass
class Engine:
    api: SettlementEngine
    notices: ConnectorNotices
    notifier: ConnectorNotifier | None

    def notify_connector(self, stop: threading.Event) -> None:
        """Tells the connector of due notices until `stop` (the leader's term) is set."""
        if self.notifier is None:
            return
        while not stop.is_set():
            if self.notifier.send_due() == 0:
                stop.wait(_SEND_EVERY_SECONDS)


def build_engine(node: Node, clock: Callable[[], datetime]) -> Engine | None:
    settings = node.settings.engine
    if not settings.enabled:
        return None
    terms = EngineTerms(
        Asset(settings.asset_code, settings.asset_scale),
        settings.threshold,
        settings.credit_limit,
        timedelta(hours=settings.keep_keys_hours),
    )
    info = SettlementInfoMessages({"node_id": node.settings.node_id})
    api = SettlementEngine(node.app, PostgresIdempotencyStore(node.pool), terms, clock, info)
    notifier = None
    if settings.connector_url:
        token = settings.connector_token.get_secret_value() if settings.connector_token else None
        client = ConnectorClient(settings.connector_url, token=token)
        notifier = ConnectorNotifier(node.app, node.pool, client, clock)
    return Engine(api, ConnectorNotices(node.app, clock), notifier)
