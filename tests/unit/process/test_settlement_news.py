"""What the executor reads from new events: which settlements and accounts to look at, when a
scheduled retry falls due, and where to resume reading."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from application.processes.settlement_news import (
    ACCOUNT_TOPICS,
    RETRY_TOPIC,
    SETTLEMENT_TOPICS,
    SettlementNews,
)

T0 = datetime(2026, 12, 1, tzinfo=UTC)


@dataclass
class Note:
    id: int
    originator_id: UUID
    topic: str


@dataclass
class Failed:
    originator_id: UUID
    next_attempt_at: datetime | None


class Log:
    """An event log of notifications, answering the recorder's topic-filtered reads."""

    def __init__(self) -> None:
        self.notes: list[Note] = []
        self.retry_at: dict[int, datetime | None] = {}
        self.recorder = self
        self.mapper = self

    def add(self, topic: str, originator_id: UUID, retry_at: datetime | None = None) -> int:
        position = len(self.notes) + 1
        self.notes.append(Note(position, originator_id, topic))
        self.retry_at[position] = retry_at
        return position

    def max_notification_id(self) -> int:
        return len(self.notes)

    def select_notifications(self, *, start: int, limit: int, topics: Any, **_: Any) -> list[Note]:
        return [n for n in self.notes if n.id > start and n.topic in topics][:limit]

    def to_domain_event(self, note: Note) -> Failed:
        return Failed(note.originator_id, self.retry_at[note.id])


def test_settlement_and_account_events_point_at_what_to_look_at() -> None:
    log = Log()
    settlement, account = uuid4(), uuid4()
    log.add(SETTLEMENT_TOPICS[0], settlement)
    log.add(ACCOUNT_TOPICS[0], account)
    log.add("domain.peer_account:PeerAccount.PacketsRecorded", account)
    news = SettlementNews(log)

    found = news.read(head=3)

    assert found.settlements == [settlement]
    assert found.accounts == [account]
    assert news.position == 3  # past the packets too: nothing up to the head is read again
    assert news.read(head=3).settlements == []


def test_a_scheduled_retry_falls_due_once_at_its_time() -> None:
    log = Log()
    later, sooner = uuid4(), uuid4()
    log.add(RETRY_TOPIC, later, T0 + timedelta(seconds=30))
    log.add(RETRY_TOPIC, sooner, T0 + timedelta(seconds=5))
    news = SettlementNews(log)
    news.read(head=2)

    assert news.next_retry_at() == T0 + timedelta(seconds=5)
    assert news.due_retries(T0) == []
    assert news.due_retries(T0 + timedelta(seconds=5)) == [sooner]
    assert news.due_retries(T0 + timedelta(seconds=60)) == [later]
    assert news.due_retries(T0 + timedelta(seconds=60)) == []
    assert news.next_retry_at() is None


def test_reading_starts_at_the_head_when_the_executor_starts() -> None:
    log = Log()
    log.add(SETTLEMENT_TOPICS[0], uuid4())
    news = SettlementNews(log)
    news.start_at_head()
    assert news.read(head=1).settlements == []  # the first scan's, not the news'
