"""The RFC 0038 settlement engine of a node, when enabled: the API's engine routes, the follower
that records what our connector must hear of and the sender that tells it, and the follower and
retrier that try again the instructed settlements the executor gave up on."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from adapters.postgres.idempotency import PostgresIdempotencyStore
from application.engine_claims import ClaimMessages, MessageClaimDelivery
from application.engine_messages import SettlementInfoMessages
from application.engine_service import EngineTerms, MessageHandler, SettlementEngine
from bootstrap.node import Node
from bootstrap.settlement import SettlementProcess
from domain.money import Asset
from projections.connector_notices import ConnectorNotices, ConnectorNotifier
from projections.engine_retries import EngineSettlementRetrier, EngineSettlementRetries

_SEND_EVERY_SECONDS = 1.0


@dataclass
class Engine:
    api: SettlementEngine
    notices: ConnectorNotices
    notifier: ConnectorNotifier | None
    retries: EngineSettlementRetries
    retrier: EngineSettlementRetrier

    def notify_connector(self, stop: threading.Event) -> None:
        """Until `stop` (the leader's term) is set: tells the connector of due notices, and
        requests the due retries of instructed settlements."""
        while not stop.is_set():
            sent = self.notifier.send_due() if self.notifier is not None else 0
            if sent + self.retrier.retry_due() == 0:
                stop.wait(_SEND_EVERY_SECONDS)


def build_engine(
    node: Node, clock: Callable[[], datetime], settlement: SettlementProcess | None = None
) -> Engine | None:
    """The engine, or None when disabled. With a settlement process, claims from peers' engines
    arrive as messages too, and claims to `message_peers` go out through our connector."""
    settings = node.settings.engine
    if not settings.enabled:
        return None
    terms = EngineTerms(
        Asset(settings.asset_code, settings.asset_scale),
        settings.threshold,
        settings.credit_limit,
        timedelta(hours=settings.keep_keys_hours),
    )
    messages: MessageHandler = SettlementInfoMessages({"node_id": node.settings.node_id})
    if settlement is not None:
        messages = ClaimMessages(settlement.receiver, messages)
    api = SettlementEngine(node.app, PostgresIdempotencyStore(node.pool), terms, clock, messages)
    notifier = None
    if settings.connector_url:
        # Imported here: its HTTP client (httpx) is needed only with a connector to tell.
        from adapters.connector.client import ConnectorClient

        token = settings.connector_token.get_secret_value() if settings.connector_token else None
        client = ConnectorClient(settings.connector_url, token=token)
        notifier = ConnectorNotifier(node.app, node.pool, client, clock)
        if settlement is not None and settings.message_peers:
            settlement.steps.claims = MessageClaimDelivery(
                settlement.delivery, client, settings.message_peers
            )
    elif settings.message_peers:
        raise ValueError("engine.message_peers: needs engine.connector_url to send through")
    retrier = EngineSettlementRetrier(node.app, node.pool, clock)
    notices = ConnectorNotices(node.app, clock)
    return Engine(api, notices, notifier, EngineSettlementRetries(node.app), retrier)
