"""Recomputes the event chain from the events table and says where, and how, it first breaks.

The events and the chain are read by position, side by side, in one repeatable-read snapshot
(two server-side cursors, merged here), so a long log streams in constant memory. What is wrong
at the first broken position is named: an event `edited`, `deleted`, `inserted` or `reordered`,
a chain record `chain-altered`, or a chain `rewritten` since a head was anchored. Positions may
have gaps (rolled-back inserts): a gap that is a gap in both tables is not tampering.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import tuple_row

from projections.event_chain import EVENTS_TABLE, ChainLink, chain_hash, chain_head, event_hash

_FETCH = 5000


@dataclass(frozen=True)
class Break:
    position: int
    kind: str
    detail: str


@dataclass
class VerifyReport:
    start: int
    head: ChainLink
    checked: int = 0
    unchained: int = 0
    broken: Break | None = None

    @property
    def clean(self) -> bool:
        return self.broken is None


def _stream(
    conn: psycopg.Connection[Any], name: str, query: str, start: int
) -> Generator[Any, None, None]:
    with conn.cursor(name=name, row_factory=tuple_row) as cursor:
        cursor.itersize = _FETCH
        cursor.execute(query, (start,))
        yield from cursor


class _Finder:
    """Looks up where an event identity is, in the events table or in the chain."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.cursor = conn.cursor(row_factory=tuple_row)

    def in_chain(self, originator_id: Any, version: int) -> int | None:
        self.cursor.execute(
            "SELECT position FROM audit_event_chain WHERE originator_id = %s"
            " AND originator_version = %s",
            (originator_id, version),
        )
        row = self.cursor.fetchone()
        return int(row[0]) if row else None

    def in_events(self, originator_id: Any, version: int) -> int | None:
        self.cursor.execute(
            # Constant names only; values are bound (bandit B608).
            f"SELECT notification_id FROM {EVENTS_TABLE} WHERE originator_id = %s"  # nosec B608
            " AND originator_version = %s",
            (originator_id, version),
        )
        row = self.cursor.fetchone()
        return int(row[0]) if row else None


def verify_chain(
    conn: psycopg.Connection[Any],
    start: int = 1,
    on_progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Checks positions from `start` (the chain up to `start` is taken as recorded)."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        with conn.cursor(row_factory=tuple_row) as cursor:
            previous = chain_head(cursor, before=start).chain_hash
            report = VerifyReport(start=start, head=chain_head(cursor))
            cursor.execute(
                "SELECT position, chain_hash FROM audit_anchors WHERE position >= %s", (start,)
            )
            anchors = {int(p): bytes(h) for p, h in cursor.fetchall()}
        events = _stream(
            conn,
            "audit_events",
            # Constant names only; values are bound (bandit B608).
            f"SELECT notification_id, originator_id, originator_version, topic, state"  # nosec B608
            f" FROM {EVENTS_TABLE} WHERE notification_id >= %s ORDER BY notification_id",
            start,
        )
        links = _stream(
            conn,
            "audit_links",
            "SELECT position, originator_id, originator_version, event_hash, chain_hash"
            " FROM audit_event_chain WHERE position >= %s ORDER BY position",
            start,
        )
        try:
            report.broken = _merge(
                report, previous, anchors, events, links, _Finder(conn), on_progress
            )
        finally:
            events.close()
            links.close()
    if on_progress is not None:
        on_progress(report.checked)
    return report


def _merge(
    report: VerifyReport,
    previous: bytes,
    anchors: dict[int, bytes],
    events: Iterator[Any],
    links: Iterator[Any],
    finder: _Finder,
    on_progress: Callable[[int], None] | None,
) -> Break | None:
    """Walks both tables by position; the first break, or None when the chain holds."""
    event = next(events, None)
    link = next(links, None)
    while event is not None or link is not None:
        at_event = event[0] if event is not None else None
        at_link = link[0] if link is not None else None
        if link is None or (at_event is not None and at_event < at_link):
            assert event is not None
            if event[0] > report.head.position:
                report.unchained += 1  # recorded after the follower's last batch
            else:
                return _unchained_event(finder, event)
            event = next(events, None)
            continue
        if event is None or at_event != at_link:
            return _missing_event(finder, link)
        expected = chain_hash(previous, bytes(link[3]))
        if expected != bytes(link[4]):
            return Break(
                link[0], "chain-altered", "the chain record does not follow from the one before"
            )
        actual = event_hash(event[0], event[1], event[2], event[3], bytes(event[4]))
        if actual != bytes(link[3]):
            return _changed_event(finder, event, link)
        if link[0] in anchors and anchors.pop(link[0]) != expected:
            return Break(
                link[0], "rewritten", "the chain differs from the head anchored at this position"
            )
        previous = expected
        report.checked += 1
        if on_progress is not None and report.checked % _FETCH == 0:
            on_progress(report.checked)
        event = next(events, None)
        link = next(links, None)
    if anchors:
        position = min(anchors)
        return Break(position, "rewritten", "an anchored position is not in the chain")
    return None


def _unchained_event(finder: _Finder, event: Any) -> Break:
    position, originator_id, version = event[0], event[1], event[2]
    chained_at = finder.in_chain(originator_id, version)
    if chained_at is not None:
        return Break(
            position,
            "reordered",
            f"event {originator_id} v{version} was chained at position {chained_at}",
        )
    return Break(position, "inserted", f"event {originator_id} v{version} is not in the chain")


def _missing_event(finder: _Finder, link: Any) -> Break:
    position, originator_id, version = link[0], link[1], link[2]
    now_at = finder.in_events(originator_id, version)
    if now_at is not None:
        return Break(
            position,
            "reordered",
            f"event {originator_id} v{version} chained here is now at position {now_at}",
        )
    return Break(position, "deleted", f"event {originator_id} v{version} is missing")


def _changed_event(finder: _Finder, event: Any, link: Any) -> Break:
    position, originator_id, version = event[0], event[1], event[2]
    if (originator_id, version) == (link[1], link[2]):
        return Break(position, "edited", f"event {originator_id} v{version} differs from its hash")
    chained_at = finder.in_chain(originator_id, version)
    if chained_at is not None:
        return Break(
            position,
            "reordered",
            f"holds event {originator_id} v{version}, chained at position {chained_at};"
            f" the chain has {link[1]} v{link[2]} here",
        )
    return Break(
        position,
        "edited",
        f"holds event {originator_id} v{version}; the chain has {link[1]} v{link[2]} here",
    )
