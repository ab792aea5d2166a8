"""Counts what happened from the events themselves, so the figures agree with the books.

`EventMetrics.observe` maps one recorded event to metric updates; `LiveEventFeed` follows the
event store from its head (no tracking record: counters restart at process start, as Prometheus
counters do) and feeds each new event to it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from adapters.metrics.definitions import NodeMetrics
from domain.channel import Channel
from domain.key_audit import KeyUse
from domain.peer_account import PeerAccount
from domain.settlement import Settlement

log = logging.getLogger(__name__)

_LAST_SEEN_LIMIT = 100_000  # settlements whose previous step time is remembered


class EventMetrics:
    def __init__(
        self,
        metrics: NodeMetrics,
        requested_at: Callable[[UUID], datetime | None],
        asset_of: Callable[[UUID], str],
    ) -> None:
        self.metrics = metrics
        self.requested_at = requested_at
        self.asset_of = asset_of
        self._assets: dict[UUID, str] = {}
        self._last_step: dict[UUID, datetime] = {}

    def observe(self, event: Any) -> None:
        if isinstance(event, PeerAccount.PacketsRecorded):
            self._packets(event)
        elif isinstance(event, Settlement.Event):
            self._settlement(event)
        elif isinstance(event, Channel.SuspectedDoubleSpend):
            self.metrics.double_spends.inc()
        elif isinstance(event, PeerAccount.SettlementReceived):
            self.metrics.claims.labels("received", "credited").inc()
        elif isinstance(event, KeyUse.Recorded):
            self.metrics.key_operations.labels(str(event.purpose)).inc()
        elif isinstance(event, PeerAccount.FraudSuspected):
            self.metrics.fraud_findings.labels(event.rule, event.action).inc()

    def _packets(self, event: Any) -> None:
        account_id = event.originator_id
        asset = self._assets.get(account_id)
        if asset is None:
            asset = self._assets[account_id] = self.asset_of(account_id)
        counts = {"incoming": 0, "outgoing": 0}
        for entry in event.entries:
            direction = str(entry[1])
            if direction in counts:
                counts[direction] += 1
        totals = {"incoming": event.incoming_total, "outgoing": event.outgoing_total}
        for direction, count in counts.items():
            if count:
                self.metrics.packets.labels(asset, direction).inc(count)
            if totals[direction]:
                self.metrics.packet_amount.labels(asset, direction).inc(totals[direction])

    def _settlement(self, event: Any) -> None:
        name = type(event).__name__
        self.metrics.settlement_events.labels(name).inc()
        if name == "Delivered":
            self.metrics.claims.labels("sent", "delivered").inc()
        at = getattr(event, "at", None)
        sid = event.originator_id
        if isinstance(event, Settlement.AttemptFailed):
            retryable = "true" if event.retryable else "false"
            self.metrics.settlement_failures.labels(event.error_class, retryable).inc()
        if not isinstance(at, datetime):
            return
        previous = self._last_step.pop(sid, None)
        if previous is not None:
            seconds = max(0.0, (at - previous).total_seconds())
            self.metrics.settlement_step_latency.labels(name).observe(seconds)
        if isinstance(event, Settlement.Completed):
            requested = self.requested_at(sid)
            if requested is not None:
                seconds = max(0.0, (at - requested).total_seconds())
                self.metrics.settlement_latency.observe(seconds)
            return
        if len(self._last_step) >= _LAST_SEEN_LIMIT:
            self._last_step.pop(next(iter(self._last_step)))
        self._last_step[sid] = at


class LiveEventFeed:
    """Follows the store's notification log from where it was at start, in memory."""

    def __init__(self, app: Any, observer: EventMetrics, batch_size: int = 500) -> None:
        self.app = app
        self.observer = observer
        self.batch_size = batch_size
        self.position = int(app.recorder.max_notification_id() or 0)

    def poll_once(self) -> int:
        notifications = self.app.recorder.select_notifications(
            start=self.position, limit=self.batch_size, inclusive_of_start=False
        )
        for notification in notifications:
            try:
                self.observer.observe(self.app.mapper.to_domain_event(notification))
            except Exception:  # a metric must never stop the node; the event is in the store
                log.warning("event not counted", exc_info=True, extra={"id": notification.id})
            self.position = notification.id
        return len(notifications)

    def run(self, stop: threading.Event, poll_interval: float = 0.2) -> None:
        while not stop.is_set():
            if self.poll_once() == 0:
                stop.wait(poll_interval)
