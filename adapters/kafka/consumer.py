"""The reference consumer: reads the PeerAccount topic in a consumer group and keeps a balance view.

Offsets are committed only after the polled messages are applied to the view (and its
transaction committed), so a crash or a rebalance re-delivers at most the uncommitted messages;
the view drops those by aggregate version. Downstream teams can copy this loop.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition  # type: ignore[import-untyped]
from kafka.errors import CommitFailedError, KafkaError  # type: ignore[import-untyped]
from kafka.structs import OffsetAndMetadata  # type: ignore[import-untyped]
from pydantic import ValidationError

from adapters.kafka.balance_view import ApplyOutcome, BalanceView
from adapters.kafka.messages import EventMessageV1
from adapters.kafka.settings import KafkaSettings

log = logging.getLogger(__name__)


class InvalidMessage(Exception):
    """A message that does not match the published schema; the consumer stops on it."""

    def __init__(self, topic: str, partition: int, offset: int, problem: str) -> None:
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.problem = problem
        super().__init__(f"invalid message at {topic}[{partition}]@{offset}: {problem}")


@dataclass
class ConsumeStats:
    received: int = 0
    applied: int = 0
    duplicates: int = 0
    gaps: int = 0
    commits_failed: int = 0

    def add(self, outcome: ApplyOutcome, received: int) -> None:
        self.received += received
        self.applied += outcome.applied
        self.duplicates += outcome.duplicates
        self.gaps += outcome.gaps


class ReferenceConsumer:
    def __init__(self, settings: KafkaSettings, group_id: str, view: BalanceView) -> None:
        self._settings = settings
        self.group_id = group_id
        self.topic = settings.topic_for("PeerAccount")
        self._view = view
        self.stats = ConsumeStats()
        self.assigned: frozenset[TopicPartition] = frozenset()
        self._consumer = KafkaConsumer(
            bootstrap_servers=settings.servers,
            client_id=f"{settings.client_id}-consumer",
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            allow_auto_create_topics=False,  # the publisher's topics, with their partitions
            session_timeout_ms=settings.consumer_session_timeout_ms,
            heartbeat_interval_ms=settings.consumer_heartbeat_interval_ms,
            request_timeout_ms=max(settings.request_timeout_ms, 30_000),
            bootstrap_timeout_ms=max(settings.request_timeout_ms, 10_000),
            max_poll_records=settings.consumer_max_poll_records,
        )
        self._consumer.subscribe([self.topic])

    def poll_once(self) -> int:
        """Polls, applies and commits one batch; returns the number of messages received."""
        batches = self._consumer.poll(timeout_ms=self._settings.consumer_poll_timeout_ms)
        self.assigned = frozenset(self._consumer.assignment())
        if not batches:
            return 0
        messages: list[EventMessageV1] = []
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for partition, records in batches.items():
            for record in records:
                messages.append(_parse(record))
            offsets[partition] = OffsetAndMetadata(records[-1].offset + 1, "", -1)
        self.stats.add(self._view.apply(messages), len(messages))
        try:
            self._consumer.commit(offsets)
        except CommitFailedError:
            # The group rebalanced since this poll; the new owner re-reads, the view dedupes.
            self.stats.commits_failed += 1
            log.info("offset commit lost to a rebalance", extra={"group": self.group_id})
        return len(messages)

    def run(self, stop: threading.Event) -> ConsumeStats:
        while not stop.is_set():
            self.poll_once()
        self._finish_joining()
        return self.stats

    def _finish_joining(self) -> None:
        """Leaving a group in the middle of a join can wedge it on some brokers (tansu): if no
        partition was assigned yet, poll a little longer (at most one session timeout)."""
        deadline = time.monotonic() + self._settings.consumer_session_timeout_ms / 1000
        while not self._consumer.assignment() and time.monotonic() < deadline:
            self.poll_once()

    def wait_for_assignment(self, timeout: float = 60.0) -> None:
        """Polls until the group gave this member partitions (closing before that can wedge
        the group on some brokers)."""
        deadline = time.monotonic() + timeout
        while not self._consumer.assignment():
            if time.monotonic() > deadline:
                raise TimeoutError(f"group {self.group_id} assigned no partition of {self.topic}")
            self.poll_once()

    def catch_up(self, timeout: float = 120.0) -> ConsumeStats:
        """Consumes until every partition of the topic is read to its current end.

        The end is where the listed end offsets are reached and then two polls in a row bring
        nothing: some brokers (tansu) list the base offset of the last record batch as the end.
        """
        if not self.topic_exists():
            return self.stats
        self.wait_for_assignment(timeout)
        deadline = time.monotonic() + timeout
        empty_polls = 0
        while empty_polls < 2 or not self._caught_up():
            empty_polls = empty_polls + 1 if self.poll_once() == 0 else 0
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"group {self.group_id} did not reach the end of {self.topic} within "
                    f"{timeout:.0f} s; is another member of the group holding partitions?"
                )
        return self.stats

    def topic_exists(self) -> bool:
        try:
            return bool(self._consumer.partitions_for_topic(self.topic))
        except KafkaError:
            return False

    def close(self) -> None:
        self._consumer.close()

    def _caught_up(self) -> bool:
        partitions = {
            TopicPartition(self.topic, p)
            for p in self._consumer.partitions_for_topic(self.topic) or ()
        }
        assigned = self._consumer.assignment()
        if not partitions or assigned != partitions:
            return False
        ends = self._consumer.end_offsets(list(partitions))
        return all(self._consumer.position(tp) >= ends[tp] for tp in partitions)


def _parse(record: object) -> EventMessageV1:
    topic, partition, offset = record.topic, record.partition, record.offset  # type: ignore[attr-defined]
    try:
        return EventMessageV1.model_validate_json(record.value)  # type: ignore[attr-defined]
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "message"
        raise InvalidMessage(topic, partition, offset, f"{where}: {first['msg']}") from None
