"""Metrics counted from the events and read from the read models; the exposition passes
`promtool check metrics`."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from prometheus_client import generate_latest
from psycopg.rows import dict_row

from adapters.metrics.collectors import ReadModelCollector
from adapters.metrics.definitions import NodeMetrics
from adapters.metrics.event_metrics import EventMetrics, LiveEventFeed
from bootstrap.node import Node, open_node
from bootstrap.settings import Settings
from domain.key_audit import KeyUse
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry, PeerAccount
from domain.settlement import Settlement
from tests.support.debian import debian_tool

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def node(database_url: str) -> Iterator[Node]:
    with open_node(Settings(database_url=database_url)) as n:
        yield n


def _sample(metrics: NodeMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def _feed(node: Node, metrics: NodeMetrics) -> LiveEventFeed:
    def requested_at(settlement_id: uuid.UUID) -> datetime | None:
        return node.app.settlement(settlement_id).requested_at

    def asset_of(account_id: uuid.UUID) -> str:
        return str(node.app.load(account_id, PeerAccount).asset_code)

    feed = LiveEventFeed(node.app, EventMetrics(metrics, requested_at, asset_of))
    feed.position = 0  # count the whole (short) history in this test
    return feed


def test_packets_and_failed_attempts_are_counted_from_the_events(node: Node) -> None:
    node.app.open_peer_account("bob", Asset("USD", 2), 10**6, 0, 10**6)
    node.app.record_packets(
        "bob",
        "USD",
        "b1",
        [
            PacketEntry("p1", Direction.OUTGOING, 7),
            PacketEntry("p2", Direction.OUTGOING, 5),
            PacketEntry("p3", Direction.INCOMING, 3),
        ],
    )
    account_id = PeerAccount.create_id("bob", "USD")
    settlement = Settlement.request("s1", account_id, "bob", "USD", 12, T0)
    settlement.attempt_failed("PeerUnreachable", "refused", True, T0 + timedelta(seconds=5), T0)
    node.app.create(settlement)
    metrics = NodeMetrics()

    assert _feed(node, metrics).poll_once() == 4

    assert _sample(metrics, "settle_packets_recorded_total", asset="USD", direction="outgoing") == 2
    assert _sample(metrics, "settle_packets_recorded_total", asset="USD", direction="incoming") == 1
    outgoing = _sample(
        metrics, "settle_packet_amount_recorded_total", asset="USD", direction="outgoing"
    )
    assert outgoing == 12
    assert _sample(metrics, "settle_settlement_events_total", event="Requested") == 1
    failures = _sample(
        metrics,
        "settle_settlement_failures_total",
        error_class="PeerUnreachable",
        retryable="true",
    )
    assert failures == 1
    steps = _sample(metrics, "settle_settlement_step_duration_seconds_count", step="AttemptFailed")
    assert steps == 1


def test_claims_credited_and_key_uses_are_counted_from_their_events(node: Node) -> None:
    node.app.open_peer_account("bob", Asset("USD", 2), 10**6, 0, 10**6)
    node.app.record_packets("bob", "USD", "b1", [PacketEntry("p1", Direction.INCOMING, 9)])
    account_id = PeerAccount.create_id("bob", "USD")
    node.app.receive_settlement(account_id, "claim-1", 5)
    node.app.create(KeyUse("env:KEY", "0x" + "11" * 20, "balance_proof", "0x" + "ab" * 32))
    metrics = NodeMetrics()

    _feed(node, metrics).poll_once()

    assert _sample(metrics, "settle_claims_total", direction="received", outcome="credited") == 1
    assert _sample(metrics, "settle_key_operations_total", purpose="balance_proof") == 1


@contextmanager
def _connection(url: str) -> Iterator[Any]:
    with psycopg.connect(url, row_factory=dict_row, autocommit=True) as conn:
        yield conn


def test_state_gauges_come_from_the_read_models(node: Node) -> None:
    url = node.database_url
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO channels (channel_id, peer_id, asset_code, chain_id, token_network,"
            " our_address, partner_address, channel_key, state, our_deposit, our_transferred,"
            " updated_at, version) VALUES (%s, 'bob', 'USD', 1, '0xt', '0xa', '0xb', 'k',"
            " 'opened', 1000, 900, now(), 1)",
            (uuid.uuid4(),),
        )
        conn.execute(
            "INSERT INTO settlements (settlement_id, account_id, peer_id, asset_code, amount,"
            " status, requested_at, updated_at, version) VALUES"
            " (%s, %s, 'bob', 'USD', 5, 'dead_lettered', now(), now(), 3)",
            (uuid.uuid4(), uuid.uuid4()),
        )
        conn.execute("INSERT INTO projection_tracking (projection, position) VALUES ('x', 0)")
    node.app.open_peer_account("bob", Asset("USD", 2), 10**6, 0, 10**6)
    metrics = NodeMetrics()
    metrics.registry.register(ReadModelCollector(lambda: _connection(url), lambda: ["x", "y"]))

    assert _sample(metrics, "settle_read_models_up") == 1
    assert _sample(metrics, "settle_channels", state="opened") == 1
    labels = {"peer": "bob", "asset": "USD"}
    ratios = [
        s.value
        for family in metrics.registry.collect()
        if family.name == "settle_channel_deposit_headroom_ratio"
        for s in family.samples
        if all(s.labels[k] == v for k, v in labels.items())
    ]
    assert ratios == [pytest.approx(0.1)]
    assert _sample(metrics, "settle_settlements_active", status="dead_lettered") == 1
    assert _sample(metrics, "settle_follower_lag_events", follower="x") == 1
    assert _sample(metrics, "settle_follower_lag_events", follower="y") == 1  # never ran


def test_an_unreadable_database_is_reported_not_raised() -> None:
    @contextmanager
    def broken() -> Iterator[Any]:
        raise psycopg.OperationalError("connection refused")
        yield

    metrics = NodeMetrics()
    metrics.registry.register(ReadModelCollector(broken, lambda: ["x"]))
    assert _sample(metrics, "settle_read_models_up") == 0


def test_the_exposition_passes_promtool_check_metrics(node: Node) -> None:
    promtool = debian_tool("promtool", "prometheus")
    metrics = NodeMetrics()
    metrics.packets.labels("USD", "outgoing").inc(3)
    metrics.settlement_latency.observe(0.2)
    metrics.dependency_up.labels("database").set(1)
    url = node.database_url
    metrics.registry.register(ReadModelCollector(lambda: _connection(url), lambda: ["balances"]))
    exposition = generate_latest(metrics.registry)

    checked = subprocess.run(
        [promtool, "check", "metrics"], input=exposition, capture_output=True, timeout=60
    )

    assert checked.returncode == 0, (checked.stdout + checked.stderr).decode()
    assert b"settle_settlement_duration_seconds_bucket" in exposition


def test_the_ledger_follower_reports_each_result_code_of_its_postings(node: Node) -> None:
    from adapters.ledger.factory import build_chart, build_ledger
    from projections.ledger_postings import LedgerPostingsProjection

    node.app.open_peer_account("bob", Asset("USD", 2), 10**6, 0, 10**6)
    node.app.record_packets("bob", "USD", "b1", [PacketEntry("p1", Direction.OUTGOING, 7)])
    seen: list[str] = []
    settings = node.settings.ledger
    ledger = build_ledger(settings, node.database_url)
    projection = LedgerPostingsProjection(
        ledger, build_chart(settings), on_results=lambda rs: seen.extend(r.value for r in rs)
    )
    node.runner(projection).catch_up()
    ledger.close()
    assert seen == ["created"]
