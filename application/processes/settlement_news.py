"""What the settlement executor learns from newly recorded events, so that it acts at once
instead of waiting for its periodic scan.

Only the topics that can give the executor work are read (filtered in the store, not decoded
here): any settlement event (the settlement may have a next step), the account events after
which an account may be due (the monitor's triggers), and failures that schedule a retry (their
due time, so the executor wakes when it comes). Each only says where to look: the decision is
always made on the aggregate's current state, and the periodic scan stays as the fallback, so
an event missed here (a restart, another process) strands nothing.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from application.processes.settlement_monitor import ACCOUNT_TRIGGERS
from domain.settlement import Settlement

READ_LIMIT = 1000


def _settlement_topics() -> list[str]:
    events = (
        value
        for value in vars(Settlement).values()
        if isinstance(value, type) and issubclass(value, Aggregate.Event)
    )
    return sorted({get_topic(e) for e in events if issubclass(e, Settlement.Event)})


SETTLEMENT_TOPICS = _settlement_topics()
ACCOUNT_TOPICS = sorted(get_topic(e) for e in ACCOUNT_TRIGGERS)
RETRY_TOPIC = get_topic(Settlement.AttemptFailed)


class EventLog(Protocol):
    """The application's recorded events (the eventsourcing application's recorder/mapper)."""

    @property
    def recorder(self) -> Any: ...

    @property
    def mapper(self) -> Any: ...


@dataclass
class News:
    settlements: list[UUID] = field(default_factory=list)
    accounts: list[UUID] = field(default_factory=list)


@dataclass
class SettlementNews:
    """Reads the log after `position` for work; remembers when scheduled retries fall due."""

    log: EventLog
    position: int = 0
    _retries: list[tuple[datetime, UUID]] = field(default_factory=list)

    def start_at_head(self) -> None:
        self.position = int(self.log.recorder.max_notification_id() or 0)

    def read(self, head: int = 0) -> News:
        """The work in events after `position`. `head` is a position known committed before
        this call (the news signal's): nothing up to it can appear later, so reading resumes
        after it even when its last events were of topics not read here."""
        news = News()
        topics: Sequence[str] = [*SETTLEMENT_TOPICS, *ACCOUNT_TOPICS]
        while True:
            notifications = self.log.recorder.select_notifications(
                start=self.position, limit=READ_LIMIT, topics=topics, inclusive_of_start=False
            )
            for notification in notifications:
                self._note(news, notification)
            if len(notifications) < READ_LIMIT:
                self.position = max(self.position, head)
                return news

    def _note(self, news: News, notification: Any) -> None:
        self.position = max(self.position, int(notification.id))
        if notification.topic in ACCOUNT_TOPICS:
            news.accounts.append(notification.originator_id)
            return
        news.settlements.append(notification.originator_id)
        if notification.topic == RETRY_TOPIC:
            failed = self.log.mapper.to_domain_event(notification)
            if failed.next_attempt_at is not None:
                heapq.heappush(self._retries, (failed.next_attempt_at, failed.originator_id))

    def due_retries(self, now: datetime) -> list[UUID]:
        """Settlements whose scheduled retry has come, each once."""
        due = []
        while self._retries and self._retries[0][0] <= now:
            due.append(heapq.heappop(self._retries)[1])
        return due

    def next_retry_at(self) -> datetime | None:
        return self._retries[0][0] if self._retries else None
