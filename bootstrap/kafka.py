"""Builds the Kafka publisher (an outbound follower) and its producer from the settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bootstrap.node import Node
from projections.kafka_publisher import KafkaPublisher
from projections.runner import ProjectionRunner

if TYPE_CHECKING:
    from adapters.kafka.producer import KafkaMessageProducer


def publisher_runner(node: Node) -> tuple[ProjectionRunner, KafkaMessageProducer]:
    """The publisher's runner and the producer it sends through (close both). The Kafka client
    is imported here, so a node with Kafka disabled never loads it."""
    from adapters.kafka.producer import KafkaMessageProducer

    settings = node.settings
    producer = KafkaMessageProducer(settings.kafka)
    publisher = KafkaPublisher(
        settings.kafka,
        settings.node_id,
        producer,
        lambda aggregate_id, version: node.app.repository.get(aggregate_id, version=version),
    )
    runner = ProjectionRunner(
        node.app, node.pool, publisher, batch_size=settings.kafka.batch_size
    )
    return runner, producer
