"""The Kafka publisher projection against a real broker and a real event store."""

from __future__ import annotations

import json
import threading
from collections import Counter

import pytest

from adapters.kafka.admin import ensure_topics
from adapters.kafka.messages import EventMessageV1, TelemetryMessageV1
from bootstrap.kafka import publisher_runner
from bootstrap.node import Node
from entrypoints.cli import main
from projections.runner import head_position
from tests.support.kafka_broker import (
    Activity,
    ManagedBroker,
    first_occurrence_versions,
    read_topic,
    read_topics,
    records_by_position,
)

AGGREGATE_TYPES = ("PeerAccount", "Channel", "Settlement")


def _event_topics(node: Node) -> list[str]:
    return [node.settings.kafka.topic_for(kind) for kind in ("PeerAccount", "Settlement")]


def _stored_events(node: Node) -> list:
    return list(node.app.recorder.select_notifications(start=1, limit=100_000))


def test_every_event_arrives_once_in_order_per_aggregate_with_telemetry(node: Node):
    kafka = node.settings.kafka
    ensure_topics(kafka, [*_event_topics(node), kafka.telemetry_topic], partitions=3)
    activity = Activity(node.app, peers=3)
    activity.packets(rounds=5)
    completed = activity.settle("peer-0", 500)
    activity.settle("peer-1", 300, fail=True)
    runner, producer = publisher_runner(node)
    try:
        published = runner.catch_up()
        position = runner.position()
    finally:
        runner.close()
        producer.close()

    stored = _stored_events(node)
    assert published == len(stored) == position == head_position(node.app)
    expected_by_topic = Counter(
        kafka.topic_for(n.topic.rpartition(":")[2].partition(".")[0]) for n in stored
    )
    records = []
    for topic, count in expected_by_topic.items():
        records += read_topic(kafka, topic, expected=count)
    by_position = records_by_position(records)
    assert sorted(by_position) == [n.id for n in stored]
    assert all(len(copies) == 1 for copies in by_position.values())
    for key, versions in first_occurrence_versions(records).items():
        assert versions == list(range(1, len(versions) + 1)), key
    big = [
        EventMessageV1.model_validate_json(r.value)
        for r in records
        if dict(r.headers)["event_type"] == b"PeerAccount.PacketsRecorded"
    ]
    assert all(m.payload["incoming_total"] > 2**70 for m in big)
    assert all(
        isinstance(json.loads(r.value)["payload"]["incoming_total"], int)
        for r in records
        if dict(r.headers)["event_type"] == b"PeerAccount.PacketsRecorded"
    )

    balance_changes = ("SettlementApplied", "SettlementReleased", "SettlementReceived")
    settled = sum(n.topic.rpartition(".")[2] in balance_changes for n in stored)
    assert settled == 3  # peer-0's applied, peer-1's released, a claim received
    telemetry = [
        TelemetryMessageV1.model_validate_json(r.value)
        for r in read_topic(kafka, kafka.telemetry_topic, expected=15 + settled + 6)
    ]
    kinds = Counter(t.type.value for t in telemetry)
    assert kinds == {
        "ACCOUNTS_UPDATED": 15 + settled,  # 15 batches; 3 settlements
        "SETTLEMENT_PENDING": 4,  # two requests, two retryable attempt failures
        "SETTLEMENT_COMPLETED": 1,
        "SETTLEMENT_FAILED": 1,
    }
    failed = next(t for t in telemetry if t.type.value == "SETTLEMENT_FAILED")
    # fail() named no error class: it comes from the last failed attempt, loaded from the store
    assert (failed.reason, failed.error_class) == ("no route", "RailDown")
    done = next(t for t in telemetry if t.type.value == "SETTLEMENT_COMPLETED")
    assert (done.aggregate_id, done.peer, done.amount) == (completed, "peer-0", "500")
    assert (done.duration_ms, done.retry_count, done.node_id) == (2500, 1, node.settings.node_id)
    assert done.channel is not None
    packets = {m.position: m for m in big}
    for update in (t for t in telemetry if t.event_type == "PeerAccount.PacketsRecorded"):
        source = packets[update.position].payload
        assert update.amount == str(source["incoming_total"] - source["outgoing_total"])


def test_broker_outage_does_not_stop_recording_and_publisher_catches_up(
    node: Node, kafka_broker: ManagedBroker
):
    activity = Activity(node.app, peers=2)
    activity.packets(rounds=3)
    runner, producer = publisher_runner(node)
    stop = threading.Event()
    follower = threading.Thread(
        target=runner.run_forever, args=(stop,), kwargs={"poll_interval": 0.05, "max_backoff": 0.5}
    )
    follower.start()
    try:
        before = head_position(node.app)
        _wait_until(lambda: runner_position(node) >= before)
        # The broker keeps data in memory only: read what it has before it goes away.
        delivered = records_by_position(_read_all(node, before))
        assert sorted(delivered) == list(range(1, before + 1))

        kafka_broker.stop()
        activity.packets(rounds=4)
        activity.settle("peer-1", 100)
        during = head_position(node.app)
        assert during > before
        assert runner_position(node) == before  # nothing acknowledged, nothing advanced

        kafka_broker.start()
        _wait_until(lambda: runner_position(node) >= during)
        after = records_by_position(_read_all(node, during - before))
        assert sorted(after) == list(range(before + 1, during + 1))
    finally:
        stop.set()
        follower.join(timeout=30)
        runner.close()
        producer.close()
    assert not follower.is_alive()


def runner_position(node: Node) -> int:
    runner, producer = publisher_runner(node)
    try:
        return runner.position()
    finally:
        runner.close()
        producer.close()


def _read_all(node: Node, expected: int) -> list:
    return read_topics(node.settings.kafka, _event_topics(node), expected)


def _wait_until(condition, timeout: float = 60.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.05)


def test_status_shows_the_lag_until_publish_catches_up(
    node: Node, cli_env: None, capsys: pytest.CaptureFixture[str]
):
    Activity(node.app, peers=2).packets(rounds=2)
    head = head_position(node.app)

    assert main(["--json", "kafka", "status"]) == 0
    before = json.loads(capsys.readouterr().out)
    assert main(["--json", "kafka", "publish"]) == 0
    published = json.loads(capsys.readouterr().out)
    assert main(["--json", "kafka", "status"]) == 0
    after = json.loads(capsys.readouterr().out)

    assert (before["position"], before["head"], before["lag"]) == (0, head, head)
    assert published == {"published_events": head}
    assert (after["position"], after["head"], after["lag"]) == (head, head, 0)


def test_publish_without_a_broker_fails_and_keeps_the_position(
    node: Node, cli_env: None, kafka_broker: ManagedBroker, capsys: pytest.CaptureFixture[str]
):
    Activity(node.app, peers=1)
    kafka_broker.stop()

    assert main(["kafka", "publish"]) == 1
    assert "did not acknowledge the batch starting at position 1" in capsys.readouterr().err
    assert runner_position(node) == 0
