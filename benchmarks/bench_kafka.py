"""Events per second published to Kafka by the publisher projection, beside kafka-python
producing the same messages directly, in the same run, against a local tansu broker.

    python -m benchmarks.bench_kafka [--events 3000] [--batch-size 500]

The publisher's figure includes reading events from PostgreSQL, mapping them to messages
(with telemetry), waiting for acks=all per batch and advancing the tracking position. The
baseline sends the same messages (built up front) with one KafkaProducer of the same
settings, all acknowledged at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from kafka import KafkaProducer  # type: ignore[import-untyped]

from adapters.kafka.admin import ensure_topics
from adapters.kafka.messages import OutgoingMessage
from adapters.kafka.producer import KafkaMessageProducer, producer_config
from adapters.kafka.settings import KafkaSettings
from adapters.kafka.telemetry import AggregateLoader
from application.app import SettlementApp
from application.event_store import postgres_env
from benchmarks.common import benchmark_database
from bootstrap.node import application_pool
from devtools.tansu import TansuBroker
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry
from projections.kafka_publisher import KafkaPublisher
from projections.runner import PositionedEvent, ProjectionRunner


def record_events(app: SettlementApp, count: int, peers: int = 20) -> None:
    names = [f"peer-{i}" for i in range(peers)]
    for name in names:
        app.open_peer_account(name, Asset("USD", 2), 10**15, 0, 2**100)
    for step in range(count - peers):
        entries = [PacketEntry(f"p{step}", Direction.INCOMING, 1000 + step)]
        app.record_packets(names[step % peers], "USD", f"b{step}", entries)


def direct_baseline(settings: KafkaSettings, messages: list[OutgoingMessage]) -> float:
    producer = KafkaProducer(**producer_config(settings))
    try:
        started = time.perf_counter()
        futures = [
            producer.send(m.topic, key=m.key, value=m.value, headers=list(m.headers))
            for m in messages
        ]
        producer.flush()
        for future in futures:
            future.get(timeout=30)
        return time.perf_counter() - started
    finally:
        producer.close()


def publish_with_projection(
    app: SettlementApp, url: str, settings: KafkaSettings, batch_size: int
) -> tuple[int, float]:
    """Publishes every recorded event from position 0; returns (events, seconds)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "DELETE FROM projection_tracking WHERE projection = %s", (KafkaPublisher.name,)
        )
    producer = KafkaMessageProducer(settings)
    publisher = KafkaPublisher(settings, "bench", producer, _loader(app))
    runner = ProjectionRunner(app, application_pool(app), publisher, batch_size=batch_size)
    try:
        started = time.perf_counter()
        published = runner.catch_up()
        return published, time.perf_counter() - started
    finally:
        runner.close()
        producer.close()


def _loader(app: SettlementApp) -> AggregateLoader:
    return lambda aggregate_id, version: app.repository.get(aggregate_id, version=version)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; medians shown")
    args = parser.parse_args()
    broker = TansuBroker(Path(tempfile.mkdtemp(prefix="bench-kafka-"))).start()
    try:
        with benchmark_database("bench_kafka") as url:
            published, events, messages, publisher_runs, direct_runs = _measure(url, broker, args)
    finally:
        broker.stop()

    publisher_rate = published / statistics.median(publisher_runs)
    direct_rate = len(events) / statistics.median(direct_runs)
    print(f"events: {published}, kafka messages: {len(messages)} (events + telemetry)")
    print(f"runs: {args.repeat}, publisher batch size: {args.batch_size}, median shown")
    print(f"publisher projection : {publisher_rate:10.0f} events/s")
    print(f"kafka-python direct  : {direct_rate:10.0f} events/s")
    print(f"ratio publisher/direct: {publisher_rate / direct_rate:.2f}")
    print(f"1-minute load average : {os.getloadavg()[0]:.2f} (2 cores shared: noisy above ~2)")


def _measure(url: str, broker: TansuBroker, args: argparse.Namespace) -> tuple[Any, ...]:
    app = SettlementApp(env=postgres_env(url))
    try:
        record_events(app, args.events)
        settings = KafkaSettings(
            bootstrap_servers=broker.bootstrap_server, batch_size=args.batch_size
        )
        ensure_topics(
            settings, [settings.topic_for("PeerAccount"), settings.telemetry_topic], partitions=6
        )
        notifications = app.recorder.select_notifications(start=1, limit=args.events + 1)
        events = [
            PositionedEvent(n.id, app.mapper.to_domain_event(n), n.topic) for n in notifications
        ]
        # The same messages the publisher sends, built up front: the baseline only produces.
        builder = KafkaPublisher(settings, "bench", KafkaMessageProducer(settings), _loader(app))
        messages = builder.messages_for(events)
        publisher_runs, direct_runs = [], []
        for _ in range(args.repeat):
            published, seconds = publish_with_projection(app, url, settings, args.batch_size)
            publisher_runs.append(seconds)
            direct_runs.append(direct_baseline(settings, messages))
        return published, events, messages, publisher_runs, direct_runs
    finally:
        app.close()


if __name__ == "__main__":
    main()
