"""Sends batches of messages to Kafka and returns only once the broker acknowledged every one.

acks='all' and one request in flight per connection keep each key's messages in order, also
across retries. Any failure closes the producer (its idempotence state may no longer match the
broker's, e.g. after a broker restart) and raises BrokerUnavailable; the caller does not advance
its position and retries the whole batch later, so delivery is at least once.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any

from kafka import KafkaProducer  # type: ignore[import-untyped]
from kafka.errors import KafkaError  # type: ignore[import-untyped]
from kafka.partitioner.default import murmur2  # type: ignore[import-untyped]

from adapters.kafka.messages import OutgoingMessage
from adapters.kafka.settings import KafkaSettings

log = logging.getLogger(__name__)


class BrokerUnavailable(Exception):
    """The broker did not acknowledge a batch; retry it later."""

    retryable = True

    def __init__(self, bootstrap_servers: Sequence[str], first_position: int, cause: str) -> None:
        self.bootstrap_servers = list(bootstrap_servers)
        self.first_position = first_position
        self.cause = cause
        super().__init__(
            f"kafka broker {','.join(self.bootstrap_servers)} did not acknowledge the batch "
            f"starting at position {first_position}: {cause}"
        )


def producer_config(settings: KafkaSettings) -> dict[str, object]:
    """The KafkaProducer configuration the publisher uses (shared with the benchmark)."""
    return {
        "bootstrap_servers": settings.servers,
        "client_id": settings.client_id,
        "acks": "all",
        "enable_idempotence": settings.enable_idempotence,
        "max_in_flight_requests_per_connection": 1,
        "retries": 5,
        "request_timeout_ms": settings.request_timeout_ms,
        "delivery_timeout_ms": max(settings.delivery_timeout_ms, settings.request_timeout_ms),
        "max_block_ms": settings.max_block_ms,
        "bootstrap_timeout_ms": settings.request_timeout_ms,
        "reconnect_backoff_ms": 100,
        "reconnect_backoff_max_ms": 2000,
        "linger_ms": 5,
    }


class KeyPartitions:
    """The partition KafkaProducer's default partitioner gives each key (murmur2 of the key
    modulo the topic's partitions), with the pure-Python hash computed once per key rather
    than once per message; the topic's partitions are read once per batch."""

    _MAX_KEYS = 100_000

    def __init__(self, producer: KafkaProducer, hashes: dict[bytes, int]) -> None:
        self._producer = producer
        self._hashes = hashes
        self._partitions: dict[str, list[int]] = {}

    def of(self, topic: str, key: bytes) -> int:
        partitions = self._partitions.get(topic)
        if partitions is None:
            partitions = self._partitions[topic] = sorted(self._producer.partitions_for(topic))
        hashed = self._hashes.get(key)
        if hashed is None:
            if len(self._hashes) >= self._MAX_KEYS:
                self._hashes.clear()
            hashed = self._hashes[key] = murmur2(key) & 0x7FFFFFFF
        return partitions[hashed % len(partitions)]


class KafkaMessageProducer:
    """One KafkaProducer, created on first use and recreated after a failure."""

    def __init__(self, settings: KafkaSettings) -> None:
        self._settings = settings
        self._producer: KafkaProducer | None = None
        self._key_hashes: dict[bytes, int] = {}

    def send_batch(self, messages: Iterable[OutgoingMessage]) -> None:
        """Sends `messages` in order; returns when all are acknowledged, else raises.

        Each message names its partition (`KeyPartitions`); one flush waits for the whole
        batch, and nothing returns before the broker acknowledged every message."""
        pending = iter(messages)
        head = next(pending, None)
        if head is None:
            return
        first = head.position
        futures: list[Any] = []  # kafka-python futures (untyped)
        try:
            producer = self._connected()
            partitions = KeyPartitions(producer, self._key_hashes)
            for message in itertools.chain((head,), pending):
                futures.append(
                    producer.send(
                        message.topic,
                        key=message.key,
                        value=message.value,
                        headers=list(message.headers),
                        partition=partitions.of(message.topic, message.key),
                    )
                )
            producer.flush(timeout=self._settings.delivery_timeout_ms / 1000)
            timeout = self._settings.request_timeout_ms / 1000
            for future in futures:
                future.get(timeout=timeout)
        except (KafkaError, OSError) as error:
            self._discard()
            log.warning(
                "kafka batch not acknowledged",
                extra={"first_position": first, "count": len(futures), "error": repr(error)},
            )
            raise BrokerUnavailable(self._settings.servers, first, repr(error)) from error

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=self._settings.request_timeout_ms / 1000)
            self._producer = None

    def _connected(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = KafkaProducer(**producer_config(self._settings))
        return self._producer

    def _discard(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=0)
            except Exception:  # closing a broken producer must not hide the original error
                log.debug("closing a failed kafka producer raised", exc_info=True)

    def __enter__(self) -> KafkaMessageProducer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
