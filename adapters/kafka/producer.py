"""Sends batches of messages to Kafka and returns only once the broker acknowledged every one.

acks='all' and one request in flight per connection keep each key's messages in order, also
across retries. Any failure closes the producer (its idempotence state may no longer match the
broker's, e.g. after a broker restart) and raises BrokerUnavailable; the caller does not advance
its position and retries the whole batch later, so delivery is at least once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from types import TracebackType

from kafka import KafkaProducer  # type: ignore[import-untyped]
from kafka.errors import KafkaError  # type: ignore[import-untyped]

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


class KafkaMessageProducer:
    """One KafkaProducer, created on first use and recreated after a failure."""

    def __init__(self, settings: KafkaSettings) -> None:
        self._settings = settings
        self._producer: KafkaProducer | None = None

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> None:
        """Sends `messages` in order; returns when all are acknowledged, else raises."""
        if not messages:
            return
        first = messages[0].position
        try:
            producer = self._connected()
            futures = [
                producer.send(
                    message.topic,
                    key=message.key,
                    value=message.value,
                    headers=list(message.headers),
                )
                for message in messages
            ]
            producer.flush(timeout=self._settings.delivery_timeout_ms / 1000)
            timeout = self._settings.request_timeout_ms / 1000
            for future in futures:
                future.get(timeout=timeout)
        except (KafkaError, OSError) as error:
            self._discard()
            log.warning(
                "kafka batch not acknowledged",
                extra={"first_position": first, "count": len(messages), "error": repr(error)},
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
