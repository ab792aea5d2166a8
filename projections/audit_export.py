"""Audit export: the chained events of a range of positions, with their hashes and the chain head.

An export is a sequence of records: one `start` (the chain hash just before the range), one
`event` per chained position in the range, and one `head` (the chain head when exported). With
a peer filter, other peers' events stay in as `redacted` records (position and hashes, no
content), so the auditor can still check every link of the chain while seeing only that peer's
events. tools/verify_export.py checks an export on its own; the format is in docs/audit.md.
"""

from __future__ import annotations

import base64
import csv
import json
from collections.abc import Iterator
from typing import IO, Any
from uuid import UUID

import psycopg
from psycopg.rows import tuple_row

from projections.event_chain import ALGORITHM, EVENTS_TABLE, chain_head

FORMATS = ("jsonl", "csv")
CSV_COLUMNS = (
    "kind",
    "position",
    "originator_id",
    "originator_version",
    "topic",
    "state_b64",
    "event_hash",
    "chain_hash",
)


def peer_aggregate_ids(conn: psycopg.Connection[Any], peer_id: str) -> set[UUID]:
    """The peer's accounts, channels and settlements, from the (caught-up) read models."""
    with conn.cursor(row_factory=tuple_row) as cursor:
        rows = cursor.execute(
            "SELECT account_id FROM balances WHERE peer_id = %(p)s"
            " UNION SELECT channel_id FROM channels WHERE peer_id = %(p)s"
            " UNION SELECT settlement_id FROM settlements WHERE peer_id = %(p)s",
            {"p": peer_id},
        ).fetchall()
    return {row[0] for row in rows}


def export_records(
    conn: psycopg.Connection[Any], start: int, stop: int, only: set[UUID] | None = None
) -> Iterator[dict[str, Any]]:
    """The records of positions `start`..`stop` (inclusive), read in one snapshot."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        with conn.cursor(row_factory=tuple_row) as cursor:
            before = chain_head(cursor, before=start)
            head = chain_head(cursor)
        yield {
            "kind": "start",
            "algorithm": ALGORITHM,
            "position": before.position,
            "chain_hash": before.chain_hash.hex(),
        }
        with conn.cursor(name="audit_export", row_factory=tuple_row) as rows:
            rows.itersize = 2000
            rows.execute(
                # Constant names only; values are bound (bandit B608).
                "SELECT c.position, e.originator_id, e.originator_version, e.topic, e.state,"  # nosec B608
                " c.event_hash, c.chain_hash, c.originator_id"
                f" FROM audit_event_chain c LEFT JOIN {EVENTS_TABLE} e"
                " ON e.notification_id = c.position"
                " WHERE c.position BETWEEN %s AND %s ORDER BY c.position",
                (start, stop),
            )
            for position, oid, version, topic, state, e_hash, c_hash, chained_id in rows:
                yield _event_record(
                    position,
                    oid,
                    version,
                    topic,
                    state,
                    e_hash,
                    c_hash,
                    redact=only is not None and chained_id not in only,
                )
        yield {"kind": "head", "position": head.position, "chain_hash": head.chain_hash.hex()}


def _event_record(
    position: int,
    originator_id: UUID | None,
    version: int | None,
    topic: str | None,
    state: bytes | None,
    e_hash: bytes,
    c_hash: bytes,
    *,
    redact: bool,
) -> dict[str, Any]:
    record: dict[str, Any] = {"kind": "redacted" if redact else "event", "position": position}
    if not redact:
        # A deleted event exports as null content: the auditor's check then fails on it.
        record["originator_id"] = None if originator_id is None else str(originator_id)
        record["originator_version"] = version
        record["topic"] = topic
        record["state_b64"] = None if state is None else base64.b64encode(state).decode()
    record["event_hash"] = bytes(e_hash).hex()
    record["chain_hash"] = bytes(c_hash).hex()
    return record


def write_export(records: Iterator[dict[str, Any]], out: IO[str], fmt: str) -> int:
    """Writes records as JSON lines or CSV; returns how many event records were written."""
    events = 0
    if fmt == "jsonl":
        for record in records:
            out.write(json.dumps(record, sort_keys=True) + "\n")
            events += record["kind"] != "start" and record["kind"] != "head"
        return events
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for record in records:
        writer.writerow({k: ("" if v is None else v) for k, v in record.items()})
        events += record["kind"] != "start" and record["kind"] != "head"
    return events
