"""Each rail's routing score on /metrics: the score of its latest routing decision, read at
scrape time from the coordinator; NaN until a decision ranked the rail."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from functools import partial

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from adapters.metrics.definitions import NodeMetrics
from application.rails import RailConfig, RailsSettings
from application.rails.coordinator import RailCoordinator
from bootstrap.service import _last_score


def _rail(name: str, cost: int) -> RailConfig:
    return RailConfig(
        name=name, chain_id=31337, rpc_url="http://127.0.0.1:8545",
        token_network="0x" + "ab" * 20, token="0x" + "cd" * 20,
        estimated_cost=cost, estimated_latency_ms=1_000,
    )  # fmt: skip


def _scores(metrics: NodeMetrics) -> dict[str, float]:
    text = generate_latest(metrics.registry).decode()
    return {
        sample.labels["rail"]: sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "settle_rail_score"
        for sample in family.samples
    }


def test_scores_follow_the_latest_decision() -> None:
    settings = RailsSettings(rails=[_rail("cheap", 10), _rail("dear", 40)])
    coordinator = RailCoordinator(settings, lambda: datetime(2026, 1, 1, tzinfo=UTC))
    metrics = NodeMetrics()
    for rail in coordinator.rails:
        metrics.rail_score.labels(rail).set_function(partial(_last_score, coordinator, rail))
    assert all(math.isnan(value) for value in _scores(metrics).values())

    decision = coordinator.rank()
    scores = _scores(metrics)
    assert decision.chosen == "cheap"
    assert scores == {s.rail: s.score for s in decision.ranked}
    assert scores["cheap"] > scores["dear"]

    for _ in range(settings.min_outcomes):
        coordinator.record_outcome("cheap", False)
    coordinator.rank(["dear"])  # the open breaker keeps "cheap" out; its last score stays
    assert _scores(metrics)["cheap"] == scores["cheap"]
    assert _scores(metrics)["dear"] == 1.0  # alone in its decision, best on every measure
