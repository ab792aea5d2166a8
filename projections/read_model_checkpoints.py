"""Checkpoints of the read models at exact positions, so that a point-in-time query replays only
the events after the nearest checkpoint at or below it, not the whole log.

A checkpoint is made by replaying, from the checkpoint before, the events up to its position into
a scratch schema with the batched replay (`projections.batched_replay`, proven to build the
tables the read-model followers build), so it equals what the read models showed at its position;
the scratch schema is made and dropped inside the checkpoint's own transaction.
Each table's rows are stored as one JSONB array beside a fingerprint of the tables' columns: a
checkpoint taken before a migration changed a read model is never restored (the query replays
from an older matching checkpoint, or from the first event). How many are kept is bounded; past
the bound the one whose removal leaves the smallest gap goes, so they thin out evenly over the
history and the newest always stays.
"""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row
from psycopg_pool import ConnectionPool

from domain.fingerprint import fingerprint
from projections.balances import BalancesProjection
from projections.batched_replay import rebuild
from projections.channels import ChannelsProjection
from projections.runner import EventSource
from projections.settlements import SettlementsProjection

log = logging.getLogger(__name__)

READ_MODEL_TABLES = ("balances", "channels", "settlements")


def columns_fingerprint(cursor: psycopg.Cursor[Any]) -> str:
    """The read-model tables' columns and types, in order, hashed."""
    rows = cursor.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'public' AND table_name = ANY(%s)"
        " ORDER BY table_name, ordinal_position",
        (list(READ_MODEL_TABLES),),
    ).fetchall()
    return fingerprint([list(row) for row in rows])


def restore_nearest(cursor: psycopg.Cursor[Any], schema: str, position: int) -> int:
    """Fills `schema`'s empty read-model tables from the newest usable checkpoint at or below
    `position`; returns its position (0 when there is none: replay from the first event)."""
    row = cursor.execute(
        "SELECT max(position) FROM read_model_checkpoints WHERE position <= %s AND columns = %s",
        (position, columns_fingerprint(cursor)),
    ).fetchone()
    checkpoint = int(row[0]) if row and row[0] is not None else 0
    if checkpoint:
        for table in READ_MODEL_TABLES:
            cursor.execute(
                sql.SQL(
                    "INSERT INTO {} SELECT r.* FROM read_model_checkpoint_rows c,"
                    " jsonb_populate_recordset(NULL::{}, c.rows) r"
                    " WHERE c.position = %s AND c.table_name = %s"
                ).format(sql.Identifier(schema, table), sql.Identifier("public", table)),
                (checkpoint, table),
            )
    return checkpoint


def take_checkpoint(
    app: EventSource, pool: ConnectionPool[Any], position: int, *, keep: int
) -> bool:
    """Stores the read models as of `position`; False if a usable one is there already.
    Then thins the checkpoints down to `keep`."""
    with pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
        columns = columns_fingerprint(cursor)
        taken = cursor.execute(
            "SELECT 1 FROM read_model_checkpoints WHERE position = %s AND columns = %s",
            (position, columns),
        ).fetchone()
    if taken:
        return False
    schema = f"checkpoint_{uuid.uuid4().hex[:12]}"
    with (
        pool.connection() as conn,
        conn.transaction(),
        conn.cursor(row_factory=tuple_row) as cursor,
    ):
        cursor.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        for table in READ_MODEL_TABLES:
            cursor.execute(
                sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL)").format(
                    sql.Identifier(schema, table), sql.Identifier("public", table)
                )
            )
        start = restore_nearest(cursor, schema, position)
        projections = [
            BalancesProjection(schema),
            ChannelsProjection(schema),
            SettlementsProjection(schema),
        ]
        rebuild(app, cursor, projections, schema, position, after=start)
        cursor.execute("DELETE FROM read_model_checkpoints WHERE position = %s", (position,))
        cursor.execute(
            "INSERT INTO read_model_checkpoints (position, columns) VALUES (%s, %s)",
            (position, columns),
        )
        for table in READ_MODEL_TABLES:
            cursor.execute(
                sql.SQL(
                    "INSERT INTO read_model_checkpoint_rows (position, table_name, rows)"
                    " SELECT %s, %s, coalesce(jsonb_agg(to_jsonb(t)), '[]'::jsonb) FROM {} t"
                ).format(sql.Identifier(schema, table)),
                (position, table),
            )
        _thin(cursor, keep)
        cursor.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
    log.info("read-model checkpoint taken", extra={"position": position})
    return True


def _thin(cursor: psycopg.Cursor[Any], keep: int) -> None:
    positions = [
        int(p) for (p,) in cursor.execute("SELECT position FROM read_model_checkpoints ORDER BY 1")
    ]
    while len(positions) > max(keep, 1):
        # The gap left by removing i is next - previous; the newest is never removed.
        gaps = [
            (positions[i + 1] - (positions[i - 1] if i else 0), i)
            for i in range(len(positions) - 1)
        ]
        _, drop = min(gaps)
        cursor.execute("DELETE FROM read_model_checkpoints WHERE position = %s", (positions[drop],))
        del positions[drop]


def checkpoint_on_schedule(
    app: EventSource,
    pool: ConnectionPool[Any],
    stop: threading.Event,
    *,
    every_events: int,
    keep: int,
    check_seconds: float = 60.0,
) -> None:
    """A part `settle run`'s leader runs: a checkpoint at the head each time `every_events`
    events have been recorded since the newest one. Reads only the log; never holds up
    recording. The first look is one `check_seconds` after the start, not at it: a checkpoint
    replays the events since the last one, work a node coming up should not be doing."""
    while not stop.wait(check_seconds):
        head = int(app.recorder.max_notification_id() or 0)
        with pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
            row = cursor.execute(
                "SELECT coalesce(max(position), 0) FROM read_model_checkpoints WHERE columns = %s",
                (columns_fingerprint(cursor),),
            ).fetchone()
        newest = int(row[0]) if row else 0
        if head - newest >= every_events:
            take_checkpoint(app, pool, head, keep=keep)
