"""The producer against a real broker: acknowledged delivery, order per key, outage handling."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime

import pytest

from adapters.kafka.admin import ensure_topics
from adapters.kafka.messages import EventMessageV1, OutgoingMessage, event_record
from adapters.kafka.producer import BrokerUnavailable, KafkaMessageProducer
from adapters.kafka.settings import KafkaSettings
from tests.support.kafka_broker import ManagedBroker, read_topic


def _messages(topic: str, aggregates: list[uuid.UUID], per_aggregate: int, start: int = 1):
    messages: list[OutgoingMessage] = []
    position = start
    for version in range(1, per_aggregate + 1):
        for aggregate_id in aggregates:
            message = EventMessageV1(
                event_type="PeerAccount.PacketsRecorded",
                aggregate_type="PeerAccount",
                aggregate_id=aggregate_id,
                aggregate_version=version,
                position=position,
                occurred_at=datetime.now(UTC),
                payload={"incoming_total": 2**100 + position, "outgoing_total": 0},
            )
            messages.append(event_record(message, topic))
            position += 1
    return messages


def test_every_message_arrives_in_order_per_key_with_headers(kafka_settings: KafkaSettings):
    topic = kafka_settings.topic_for("PeerAccount")
    ensure_topics(kafka_settings, [topic], partitions=3)
    aggregates = [uuid.uuid4() for _ in range(7)]
    messages = _messages(topic, aggregates, per_aggregate=30)
    with KafkaMessageProducer(kafka_settings) as producer:
        producer.send_batch(messages[:100])
        producer.send_batch(messages[100:])

    records = read_topic(kafka_settings, topic, expected=len(messages))

    assert len(records) == len(messages)
    versions: dict[bytes, list[int]] = defaultdict(list)
    partitions_of_key: dict[bytes, set[int]] = defaultdict(set)
    for record in records:
        value = EventMessageV1.model_validate_json(record.value)
        assert record.key == str(value.aggregate_id).encode()
        assert dict(record.headers) == {
            "event_type": b"PeerAccount.PacketsRecorded",
            "schema_version": b"1",
            "position": str(value.position).encode(),
        }
        assert value.payload["incoming_total"] == 2**100 + value.position
        versions[record.key].append(value.aggregate_version)
        partitions_of_key[record.key].add(record.partition)
    assert all(v == list(range(1, 31)) for v in versions.values())
    assert all(len(p) == 1 for p in partitions_of_key.values())
    assert len({p for ps in partitions_of_key.values() for p in ps}) > 1


def test_unreachable_broker_raises_retryable_error_then_recovers(
    kafka_broker: ManagedBroker, kafka_settings: KafkaSettings
):
    topic = kafka_settings.topic_for("PeerAccount")
    aggregates = [uuid.uuid4()]
    first, during, after = (
        _messages(topic, aggregates, 1, start=1),
        _messages(topic, aggregates, 1, start=2),
        _messages(topic, aggregates, 1, start=3),
    )
    with KafkaMessageProducer(kafka_settings) as producer:
        producer.send_batch(first)
        kafka_broker.stop()
        with pytest.raises(BrokerUnavailable) as raised:
            producer.send_batch(during)
        assert raised.value.first_position == 2
        kafka_broker.start()  # in-memory broker: comes back empty, old producer id unknown
        producer.send_batch(during + after)

    records = read_topic(kafka_settings, topic, expected=2)
    positions = [EventMessageV1.model_validate_json(r.value).position for r in records]
    assert positions == [2, 3]
