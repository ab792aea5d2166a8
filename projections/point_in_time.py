"""Read models as they were at a past position or time, rebuilt from the events alone.

The live read-model projections are run over the events up to the position into a private,
temporary schema; the caller queries it with the same queries as the live tables (a `ReadSide`
scoped to that schema, which names its tables with the schema, so no pooled connection's search
path is ever changed), and the schema is dropped afterwards. Running the very same projection code
is what makes the result equal to what the read models showed then; it starts from the nearest
read-model checkpoint at or below the position (`read_model_checkpoints`), so a query on a long
history replays only the events since that checkpoint. Connections come from the
node's pool, each held only for one step (create and replay, then drop).

A time is turned into a position through the event chain (`audit_event_chain.recorded_at`, the
events' own timestamps): the state as of TIME is the state after every event before the first one
recorded after TIME.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row
from psycopg_pool import ConnectionPool

from projections.balances import BalancesProjection
from projections.channels import ChannelsProjection
from projections.read_model_checkpoints import READ_MODEL_TABLES, restore_nearest
from projections.runner import EventSource, PositionedEvent, Projection
from projections.settlements import SettlementsProjection


class PositionOutOfRange(Exception):
    """The position asked for is not in the log (yet)."""

    def __init__(self, position: int, head: int) -> None:
        self.position = position
        self.head = head
        super().__init__(f"position {position} is beyond the last event ({head})")


def position_as_of(pool: ConnectionPool[Any], at: datetime) -> int:
    """The last position of the prefix of events recorded at or before `at` (0 if none)."""
    with pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
        row = cursor.execute(
            "SELECT (SELECT min(position) FROM audit_event_chain WHERE recorded_at > %s),"
            " (SELECT coalesce(max(position), 0) FROM audit_event_chain)",
            (at,),
        ).fetchone()
    assert row is not None
    first_after, head = row
    return int(head) if first_after is None else int(first_after) - 1


def _projections(schema: str) -> list[Projection]:
    return [BalancesProjection(schema), ChannelsProjection(schema), SettlementsProjection(schema)]


@contextmanager
def read_models_at(
    app: EventSource, pool: ConnectionPool[Any], position: int, *, batch_size: int = 1000
) -> Iterator[str]:
    """Yields the name of a schema whose read-model tables are as they were at `position`."""
    head = int(app.recorder.max_notification_id() or 0)
    if position > head:
        raise PositionOutOfRange(position, head)
    schema = f"asof_{uuid.uuid4().hex[:12]}"
    with pool.connection() as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        with (
            pool.connection() as conn,
            conn.transaction(),
            conn.cursor(row_factory=tuple_row) as cursor,
        ):
            for table in READ_MODEL_TABLES:
                cursor.execute(
                    sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL)").format(
                        sql.Identifier(schema, table), sql.Identifier("public", table)
                    )
                )
            start = restore_nearest(cursor, schema, position)
            _replay(app, cursor, _projections(schema), start, position, batch_size)
        yield schema
    finally:
        with pool.connection() as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def _replay(
    app: EventSource,
    cursor: psycopg.Cursor[Any],
    projections: list[Projection],
    start: int,
    position: int,
    batch_size: int,
) -> None:
    to_event = app.mapper.to_domain_event
    while start < position:
        notifications = app.recorder.select_notifications(
            start=start, limit=batch_size, stop=position, inclusive_of_start=False
        )
        if not notifications:
            return
        events = [PositionedEvent(n.id, to_event(n), n.topic) for n in notifications]
        for projection in projections:
            projection.apply(cursor, events)
        start = notifications[-1].id
