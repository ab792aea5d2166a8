"""Read-model checkpoints: a point-in-time query restores the nearest checkpoint at or below its
position and replays only the events after it, with the same result as a replay from the first
event; checkpoints of tables of another shape are never restored; their number stays bounded."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from bootstrap.node import Node
from projections.point_in_time import read_models_at
from projections.read_model_checkpoints import take_checkpoint
from projections.runner import EventSource

Record = Callable[..., None]

TABLES = {"balances": "account_id", "channels": "channel_id", "settlements": "settlement_id"}


def rows(url: str, schema: str) -> dict[str, list[dict[str, Any]]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return {
            table: conn.execute(
                sql.SQL("SELECT * FROM {} ORDER BY {}").format(
                    sql.Identifier(schema, table), sql.Identifier(key)
                )
            ).fetchall()
            for table, key in TABLES.items()
        }


class WatchedLog:
    """The application's log, noting the lowest position a replay asked to start after."""

    def __init__(self, app: EventSource) -> None:
        self._app = app
        self.mapper = app.mapper
        self.recorder = self
        self.starts: list[int] = []

    def max_notification_id(self) -> int | None:
        return self._app.recorder.max_notification_id()

    def select_notifications(self, **kwargs: Any) -> Any:
        self.starts.append(int(kwargs["start"]))
        return self._app.recorder.select_notifications(**kwargs)


def head(node: Node) -> int:
    return int(node.app.recorder.max_notification_id() or 0)


def as_of(node: Node, app: Any, position: int) -> dict[str, list[dict[str, Any]]]:
    with read_models_at(app, node.pool, position) as schema:
        return rows(node.database_url, schema)


@pytest.fixture
def history(node: Node, record: Record) -> Iterator[list[int]]:
    """Three stretches of activity; the positions after each."""
    marks = []
    for peer, batches in (("alice", 3), ("bob", 4), ("carol", 2)):
        record(node.app, peer, batches)
        marks.append(head(node))
    yield marks


def test_a_query_replays_only_the_events_after_the_nearest_checkpoint(
    node: Node, history: list[int]
) -> None:
    first, second, third = history
    expected = {position: as_of(node, node.app, position) for position in history}

    assert take_checkpoint(node.app, node.pool, second, keep=10)
    assert not take_checkpoint(node.app, node.pool, second, keep=10)  # taken once

    watched = WatchedLog(node.app)
    assert as_of(node, watched, third) == expected[third]
    assert watched.starts and min(watched.starts) == second

    watched.starts.clear()
    assert as_of(node, watched, first) == expected[first]  # below it: from the first event
    assert min(watched.starts) == 0

    watched.starts.clear()
    assert as_of(node, watched, second) == expected[second]  # at it: nothing to replay
    assert watched.starts == []


def test_a_checkpoint_of_tables_of_another_shape_is_not_restored(
    node: Node, history: list[int]
) -> None:
    _, second, third = history
    expected = as_of(node, node.app, third)
    take_checkpoint(node.app, node.pool, second, keep=10)
    with node.pool.connection() as conn:
        conn.execute("UPDATE read_model_checkpoints SET columns = 'before-a-migration'")
        # Were it restored, this row would show: it is not what the events say.
        conn.execute(
            "UPDATE read_model_checkpoint_rows SET rows = jsonb_set(rows, '{0,payable}', '1')"
            " WHERE table_name = 'balances'"
        )

    watched = WatchedLog(node.app)
    assert as_of(node, watched, third) == expected
    assert min(watched.starts) == 0


def test_checkpoints_thin_out_evenly_and_keep_the_newest(node: Node, record: Record) -> None:
    for batch in range(8):
        record(node.app, f"peer{batch}", 1)
        take_checkpoint(node.app, node.pool, head(node), keep=4)
    with node.pool.connection() as conn:
        kept = [r["position"] for r in conn.execute("SELECT position FROM read_model_checkpoints")]
        orphans = conn.execute(
            "SELECT count(*) AS n FROM read_model_checkpoint_rows WHERE position <> ALL(%s)",
            (kept,),
        ).fetchone()
    kept.sort()
    gaps = [b - a for a, b in zip([0, *kept], kept, strict=False)]
    assert len(kept) == 4
    assert kept[-1] == head(node)
    assert max(gaps) <= 2 * min(gaps)  # spread over the history, not bunched at one end
    assert orphans is not None and orphans["n"] == 0
    node.catch_up_read_models()
    assert as_of(node, node.app, head(node)) == rows(node.database_url, "public")
