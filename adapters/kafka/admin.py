"""Creates the publisher's topics with a chosen number of partitions (brokers may auto-create
them with one partition, which keeps order but limits consumer parallelism)."""

from __future__ import annotations

from collections.abc import Iterable

from kafka import KafkaAdminClient  # type: ignore[import-untyped]
from kafka.admin import NewTopic  # type: ignore[import-untyped]
from kafka.errors import TopicAlreadyExistsError  # type: ignore[import-untyped]

from adapters.kafka.settings import KafkaSettings


def ensure_topics(settings: KafkaSettings, topics: Iterable[str], partitions: int) -> list[str]:
    """Creates each missing topic; returns the names created."""
    if partitions < 1:
        raise ValueError(f"partitions must be at least 1, got {partitions}")
    admin = KafkaAdminClient(
        bootstrap_servers=settings.servers,
        client_id=settings.client_id,
        request_timeout_ms=settings.request_timeout_ms,
    )
    try:
        existing = set(admin.list_topics())
        missing = sorted(set(topics) - existing)
        created = []
        for topic in missing:
            try:
                admin.create_topics([NewTopic(topic, partitions, 1)])
                created.append(topic)
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        admin.close()
