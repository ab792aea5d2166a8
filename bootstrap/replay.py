"""Rebuild every read model from the first event into fresh tables; compare with the live ones.

The rebuild reads the log once and writes the tables set-wise (`projections.batched_replay`),
in one transaction: a replay that dies leaves nothing half-built, and the next starts over.

The fresh tables live in a private schema named in every statement (no search path is set), on a
connection of the node's pool; the schema is dropped whatever happens.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row, tuple_row

from bootstrap.followers import read_model_projections
from bootstrap.node import Node
from projections.batched_replay import rebuild
from projections.runner import head_position

READ_MODEL_TABLES = {
    "balances": "account_id",
    "channels": "channel_id",
    "settlements": "settlement_id",
}


@dataclass
class TableDifference:
    table: str
    key: str
    live: dict[str, Any] | None
    rebuilt: dict[str, Any] | None


@dataclass
class ReplayReport:
    position: int
    events: int
    differences: list[TableDifference] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.differences


def replay(node: Node) -> ReplayReport:
    head = head_position(node.app)
    for runner in node.read_model_runners():
        runner.catch_up(stop_at=head)
    schema = f"replay_{uuid.uuid4().hex[:12]}"
    with node.pool.connection() as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        try:
            for table in [*READ_MODEL_TABLES, "projection_tracking"]:
                conn.execute(
                    sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL)").format(
                        sql.Identifier(schema, table), sql.Identifier("public", table)
                    )
                )
            with conn.transaction(), conn.cursor(row_factory=tuple_row) as cursor:
                events = rebuild(node.app, cursor, read_model_projections(schema), schema, head)
            report = ReplayReport(position=head, events=events)
            for table, key in READ_MODEL_TABLES.items():
                report.differences.extend(_differences(conn, schema, table, key))
        finally:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
    return report


def _differences(
    conn: psycopg.Connection[Any], schema: str, table: str, key: str
) -> list[TableDifference]:
    live_table = sql.Identifier("public", table)
    rebuilt_table = sql.Identifier(schema, table)
    found: dict[str, TableDifference] = {}
    with conn.cursor(row_factory=dict_row) as cursor:
        for side, first, second in (
            ("live", live_table, rebuilt_table),
            ("rebuilt", rebuilt_table, live_table),
        ):
            cursor.execute(
                sql.SQL("SELECT * FROM {} EXCEPT SELECT * FROM {}").format(first, second)
            )
            for row in cursor.fetchall():
                row_key = str(row[key])
                diff = found.setdefault(row_key, TableDifference(table, row_key, None, None))
                setattr(diff, side, dict(row))
    return sorted(found.values(), key=lambda d: d.key)
