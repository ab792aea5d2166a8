"""Every read-model query the CLI and the HTTP API answer, on the application's own pool.

One connection pool (no connection per query) and keyset pagination: each page is ordered by a
unique key and the cursor is the last row's key, opaque to callers, so a page costs an index scan
however deep it is. The CLI, which prints whole lists, follows the pages (`all_*`). A read side
scoped to another schema reads the read models rebuilt there (projections/point_in_time.py); the
tables are named with their schema, so no connection's search path is ever changed.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from psycopg import sql
from psycopg_pool import ConnectionPool

from domain.errors import InvalidField
from domain.settlement import TERMINAL

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class EventHistory(Protocol):
    """What the read side needs of the application: its stored events and its recorder."""

    @property
    def events(self) -> Any: ...

    @property
    def recorder(self) -> Any: ...


@dataclass(frozen=True)
class Page:
    """One page of rows; `next_cursor` fetches the next one, None on the last page."""

    rows: list[dict[str, Any]]
    next_cursor: str | None


def encode_cursor(key: list[Any]) -> str:
    text = json.dumps([str(part) for part in key], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, parts: int) -> list[str]:
    """The key a cursor holds; InvalidField naming `cursor` when it is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise InvalidField("cursor", cursor, "is not a cursor this service issued") from None
    if not isinstance(key, list) or len(key) != parts or not all(isinstance(p, str) for p in key):
        raise InvalidField("cursor", cursor, "is not a cursor this service issued")
    return key


def check_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidField("limit", limit, f"must be an integer from 1 to {MAX_LIMIT}")
    return limit


_BALANCES = (
    "SELECT peer_id, asset_code, asset_scale, payable, receivable, in_flight, paused,"
    " last_settlement_id, last_settlement_at FROM {}"
)
_CHANNELS = (
    "SELECT channel_id, peer_id, asset_code, chain_id, token_network, onchain_id, state,"
    " our_deposit, partner_deposit, our_nonce, our_transferred, partner_nonce,"
    " partner_transferred, updated_at FROM {}"
)
_SETTLEMENTS = (
    "SELECT settlement_id, peer_id, asset_code, amount, status, attempts, rail, tx_hash,"
    " last_error, resolution, requested_at, updated_at, completed_at FROM {}"
)


class ReadSide:
    """Read-model queries and the followers' positions, each on a pooled connection."""

    def __init__(
        self, pool: ConnectionPool[Any], history: EventHistory, *, schema: str = "public"
    ) -> None:
        self._pool = pool
        self._history = history
        self._schema = schema

    def at(self, schema: str) -> ReadSide:
        """The same reads on read-model tables rebuilt in `schema` (a point in time)."""
        return ReadSide(self._pool, self._history, schema=schema)

    @property
    def pool(self) -> ConnectionPool[Any]:
        return self._pool

    def _rows(self, query: sql.Composable | str, params: list[Any]) -> list[dict[str, Any]]:
        with self._pool.connection() as conn, conn.cursor() as cursor:
            cursor.execute(sql.SQL(query) if isinstance(query, str) else query, params)
            return [dict(row) for row in cursor.fetchall()]

    def _page(
        self,
        select: tuple[str, str],
        clauses: list[str],
        params: list[Any],
        key: tuple[str, ...],
        limit: int | None,
        cursor: str | None,
    ) -> Page:
        """Rows after the cursor's key, ordered by `key` (unique), at most `limit` of them.
        `select` is the query's template and the table it reads (in this side's schema)."""
        size = check_limit(limit)
        clauses, params = list(clauses), list(params)
        if cursor is not None:
            after = decode_cursor(cursor, len(key))
            clauses.append(f"({', '.join(key)}) > ({', '.join(['%s'] * len(key))})")
            params.extend(after)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        template, table = select
        query = sql.SQL(f"{template}{where} ORDER BY {', '.join(key)} LIMIT %s").format(
            sql.Identifier(self._schema, table)
        )
        rows = self._rows(query, [*params, size + 1])
        if len(rows) <= size:
            return Page(rows, None)
        rows = rows[:size]
        return Page(rows, encode_cursor([_key_text(rows[-1][k]) for k in key]))

    def balances(
        self, peer_id: str | None = None, *, limit: int | None = None, cursor: str | None = None
    ) -> Page:
        clauses, params = ([], []) if peer_id is None else (["peer_id = %s"], [peer_id])
        key = ("peer_id", "asset_code")
        return self._page((_BALANCES, "balances"), clauses, params, key, limit, cursor)

    def channels(
        self, peer_id: str | None = None, *, limit: int | None = None, cursor: str | None = None
    ) -> Page:
        """Channels by peer, then by last change; a channel changed while paging may move on."""
        clauses, params = ([], []) if peer_id is None else (["peer_id = %s"], [peer_id])
        key = ("peer_id", "updated_at", "channel_id")
        return self._page((_CHANNELS, "channels"), clauses, params, key, limit, cursor)

    def settlements(
        self,
        *,
        status: str | None = None,
        peer_id: str | None = None,
        stuck_for: timedelta | None = None,
        now: datetime | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page:
        """Settlements by status, by peer, or stuck (not terminal, unchanged for `stuck_for`)."""
        clauses: list[str] = []
        params: list[Any] = []
        if status is not None:
            clauses.append("status = %s")
            params.append(status)
        if peer_id is not None:
            clauses.append("peer_id = %s")
            params.append(peer_id)
        if stuck_for is not None:
            if now is None:
                raise ValueError("now is needed to find stuck settlements")
            clauses.append("NOT (status = ANY(%s)) AND updated_at < %s")
            params.extend([[s.value for s in TERMINAL], now - stuck_for])
        key = ("requested_at", "settlement_id")
        return self._page((_SETTLEMENTS, "settlements"), clauses, params, key, limit, cursor)

    def all_balances(self, peer_id: str | None = None) -> list[dict[str, Any]]:
        """Every balance row (of one peer, if given): all the pages, in page order."""
        return _all_pages(lambda cursor: self.balances(peer_id, limit=MAX_LIMIT, cursor=cursor))

    def all_channels(self, peer_id: str | None = None) -> list[dict[str, Any]]:
        return _all_pages(lambda cursor: self.channels(peer_id, limit=MAX_LIMIT, cursor=cursor))

    def all_settlements(
        self,
        *,
        status: str | None = None,
        peer_id: str | None = None,
        stuck_for: timedelta | None = None,
        now: datetime | None = None,
    ) -> list[dict[str, Any]]:
        return _all_pages(
            lambda cursor: self.settlements(
                status=status,
                peer_id=peer_id,
                stuck_for=stuck_for,
                now=now,
                limit=MAX_LIMIT,
                cursor=cursor,
            )
        )

    def history(
        self, aggregate_id: UUID, *, limit: int | None = None, cursor: str | None = None
    ) -> Page:
        """One aggregate's events, oldest first, read through the application's event store."""
        size = check_limit(limit)
        after = 0
        if cursor is not None:
            (text,) = decode_cursor(cursor, 1)
            if not text.isdigit():
                raise InvalidField("cursor", cursor, "is not a cursor this service issued")
            after = int(text)
        events = list(self._history.events.get(aggregate_id, gt=after, limit=size + 1))
        rows = [_event_row(e) for e in events[:size]]
        more = len(events) > size
        return Page(rows, encode_cursor([rows[-1]["version"]]) if more else None)

    def all_history(self, aggregate_id: UUID) -> list[dict[str, Any]]:
        return _all_pages(lambda cursor: self.history(aggregate_id, limit=MAX_LIMIT, cursor=cursor))

    def ping(self) -> None:
        """Raises unless the database answers."""
        self._rows("SELECT 1 AS alive", [])

    def follower_positions(self) -> dict[str, int]:
        """Each follower's tracked position (projections, processes, feeds)."""
        rows = self._rows("SELECT projection, position FROM projection_tracking", [])
        return {str(r["projection"]): int(r["position"]) for r in rows}

    def head_position(self) -> int:
        """The position of the last event recorded."""
        return int(self._history.recorder.max_notification_id() or 0)


_EVENT_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def _event_row(event: Any) -> dict[str, Any]:
    return {
        "version": event.originator_version,
        "event": type(event).__qualname__,
        "recorded_at": event.timestamp,
        "payload": {k: v for k, v in vars(event).items() if k not in _EVENT_FIELDS},
    }


def _all_pages(fetch: Callable[[str | None], Page]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        rows.extend(page.rows)
        if page.next_cursor is None:
            return rows
        cursor = page.next_cursor


def _key_text(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)
