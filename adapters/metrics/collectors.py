"""Gauges of the node's state, read from the read models when Prometheus scrapes: follower lag,
channels by state, deposit headroom per channel, dead letters, settlements not yet terminal.

Reading at scrape time keeps them right after a restart or a failover, with nothing to rebuild.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

ConnectionSource = Callable[[], AbstractContextManager[Any]]

_LAG = """
SELECT t.projection, greatest(h.head - t.position, 0) AS lag
FROM projection_tracking t,
     (SELECT coalesce(max(notification_id), 0) AS head FROM settlementledger_events) h
"""
_CHANNELS = "SELECT state, count(*) AS n FROM channels WHERE NOT abandoned GROUP BY state"
_HEADROOM = """
SELECT channel_id::text AS channel, peer_id AS peer, asset_code AS asset,
       our_deposit - our_transferred AS headroom,
       CASE WHEN our_deposit > 0 THEN (our_deposit - our_transferred) / our_deposit END AS ratio
FROM channels WHERE state = 'opened' AND NOT abandoned
"""
_SETTLEMENTS = """
SELECT status, count(*) AS n FROM settlements
WHERE resolution IS NULL AND status NOT IN ('completed', 'failed', 'timed_out')
GROUP BY status
"""


class ReadModelCollector(Collector):
    """`connection()` returns a context manager giving a dict-row connection (the node's pool)."""

    def __init__(self, connection: ConnectionSource, followers: Callable[[], list[str]]) -> None:
        self.connection = connection
        self.followers = followers

    def collect(self) -> Iterator[GaugeMetricFamily]:
        lag = GaugeMetricFamily(
            "settle_follower_lag_events", "Events not yet followed", labels=["follower"]
        )
        channels = GaugeMetricFamily(
            "settle_channels", "Channels by state (abandoned ones left out)", labels=["state"]
        )
        headroom = GaugeMetricFamily(
            "settle_channel_deposit_headroom",
            "Our deposit not yet transferred to the peer, in token units",
            labels=["channel", "peer", "asset"],
        )
        ratio = GaugeMetricFamily(
            "settle_channel_deposit_headroom_ratio",
            "Share of our deposit not yet transferred (0 = nothing left to pay with)",
            labels=["channel", "peer", "asset"],
        )
        active = GaugeMetricFamily(
            "settle_settlements_active",
            "Settlements not terminal, by status (unresolved dead letters included)",
            labels=["status"],
        )
        up = GaugeMetricFamily("settle_read_models_up", "1 when the read models could be read")
        try:
            with self.connection() as conn:
                lags = {row["projection"]: int(row["lag"]) for row in conn.execute(_LAG)}
                for name in self.followers():
                    lag.add_metric([name], float(lags.get(name, _unknown_lag(conn))))
                for row in conn.execute(_CHANNELS):
                    channels.add_metric([row["state"]], float(row["n"]))
                for row in conn.execute(_HEADROOM):
                    labels = [row["channel"], row["peer"], row["asset"]]
                    headroom.add_metric(labels, float(row["headroom"]))
                    if row["ratio"] is not None:
                        ratio.add_metric(labels, float(row["ratio"]))
                for row in conn.execute(_SETTLEMENTS):
                    active.add_metric([row["status"]], float(row["n"]))
            up.add_metric([], 1.0)
        except Exception as error:  # a scrape never fails the node; `up` says what happened
            log.warning("read models not readable for metrics", extra={"error": repr(error)})
            up.add_metric([], 0.0)
        yield from (lag, channels, headroom, ratio, active, up)


def _unknown_lag(conn: Any) -> int:
    """A follower that never committed a position lags by the whole log."""
    row = conn.execute(
        "SELECT coalesce(max(notification_id), 0) AS head FROM settlementledger_events"
    ).fetchone()
    return int(row["head"]) if row else 0
