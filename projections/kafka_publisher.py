"""Publishes every domain event to Kafka, and the operators' telemetry stream, with tracking.

Runs as a projection: a batch is mapped to messages, sent, and acknowledged by the broker
(acks=all) before apply() returns; only then does the runner advance the tracking position in
the same transaction. A broker outage raises BrokerUnavailable: the position stays, the runner
backs off and the same events are sent again later. Delivery is at least once and in order
per aggregate; every message carries its global position so consumers drop duplicates.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

import psycopg

from adapters.kafka.event_mapping import event_message
from adapters.kafka.messages import OutgoingMessage, event_record, telemetry_record
from adapters.kafka.settings import KafkaSettings
from adapters.kafka.telemetry import AggregateLoader, CreationCache, telemetry_for
from projections.runner import PositionedEvent, Projection

log = logging.getLogger(__name__)


class MessageSender(Protocol):
    def send_batch(self, messages: Iterable[OutgoingMessage]) -> None: ...


class KafkaPublisher(Projection):
    name = "kafka-publisher"

    def __init__(
        self,
        settings: KafkaSettings,
        node_id: str,
        sender: MessageSender,
        load: AggregateLoader,
    ) -> None:
        self._settings = settings
        self._node_id = node_id
        self._sender = sender
        self._load = CreationCache(load)
        self._topics: dict[str, str] = {}  # aggregate type -> its topic

    def messages_for(self, events: Sequence[PositionedEvent]) -> list[OutgoingMessage]:
        return list(self._messages(events))

    def _messages(self, events: Sequence[PositionedEvent]) -> Iterator[OutgoingMessage]:
        """The batch's messages in order, one event at a time."""
        topics, telemetry_topic = self._topics, self._settings.telemetry_topic
        with_telemetry = self._settings.publish_telemetry
        for positioned in events:
            message = event_message(positioned.position, positioned.topic, positioned.event)
            topic = topics.get(message.aggregate_type)
            if topic is None:  # the settings' name is built with a regex: once per type
                topic = topics[message.aggregate_type] = self._settings.topic_for(
                    message.aggregate_type
                )
            yield event_record(message, topic)
            if with_telemetry:
                for telemetry in telemetry_for(message, self._node_id, self._load):
                    yield telemetry_record(telemetry, telemetry_topic)

    def apply(self, cursor: psycopg.Cursor[Any], events: Sequence[PositionedEvent]) -> None:
        # Returns only once the broker acknowledged every message (or raises): the runner then
        # advances the position. The batch is mapped whole before the first send: sending while
        # mapping made the producer's I/O thread contend with the mapping for the interpreter
        # (measured slower), and an event that cannot be mapped then sends nothing.
        records = self.messages_for(events)
        self._sender.send_batch(records)
        log.debug(
            "published to kafka",
            extra={"events": len(events), "messages": len(records), "to": events[-1].position},
        )
