"""The tamper-evident event chain: each event's hash, chained to the previous one in global order.

A tracked follower (`EventChainProjection`) hashes each event's stored row as it was committed
and writes the chain in the same transaction that advances its tracking row, so the chain covers
every event exactly once. The encoding is documented in docs/audit.md and re-implemented, with
the standard library only, in tools/verify_export.py; the two must stay byte-for-byte equal.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from projections.runner import PositionedEvent, Projection

ALGORITHM = "settlement-ledger-chain-v1"
GENESIS = bytes(32)  # the "previous chain hash" of the first event
EVENTS_TABLE = "settlementledger_events"


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, ASCII only: one byte string per value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def event_hash(
    position: int, originator_id: UUID | str, originator_version: int, topic: str, state: bytes
) -> bytes:
    """sha256 over the canonical JSON of the event's row; the state enters as its own sha256.

    Written out by hand because verification runs it once per event: the bytes are exactly
    `canonical_json` of {originator_id, originator_version, position, state_sha256, topic}
    (a unit test holds the two equal).
    """
    return hashlib.sha256(
        b'{"originator_id":"%s","originator_version":%d,"position":%d,"state_sha256":"%s",'
        b'"topic":%s}'
        % (
            str(originator_id).encode(),
            originator_version,
            position,
            hashlib.sha256(state).hexdigest().encode(),
            json.dumps(topic, ensure_ascii=True).encode(),
        )
    ).digest()


def chain_hash(previous: bytes, this_event: bytes) -> bytes:
    return hashlib.sha256(previous + this_event).digest()


@dataclass(frozen=True)
class ChainLink:
    position: int
    chain_hash: bytes


def chain_head(cursor: psycopg.Cursor[Any], before: int | None = None) -> ChainLink:
    """The last chained event (before `before`, if given); position 0 and GENESIS if none."""
    if before is None:
        cursor.execute(
            "SELECT position, chain_hash FROM audit_event_chain ORDER BY position DESC LIMIT 1"
        )
    else:
        cursor.execute(
            "SELECT position, chain_hash FROM audit_event_chain WHERE position < %s"
            " ORDER BY position DESC LIMIT 1",
            (before,),
        )
    row = cursor.fetchone()
    return ChainLink(int(row[0]), bytes(row[1])) if row else ChainLink(0, GENESIS)


class EventChainProjection(Projection):
    """Chains each batch of events onto the stored head, inside the follower's transaction."""

    name = "event_chain"

    def __init__(self, schema: str = "public") -> None:
        self.events = sql.Identifier(schema, EVENTS_TABLE)
        self.chain = sql.Identifier(schema, "audit_event_chain")

    def apply(self, cursor: psycopg.Cursor[Any], events: Sequence[PositionedEvent]) -> None:
        if not events:
            return
        # The runner hands over decoded events; the hash covers the stored bytes, read here in
        # the same transaction (committed rows never change: the table refuses UPDATE).
        recorded_at = {e.position: getattr(e.event, "timestamp", None) for e in events}
        cursor.execute(
            sql.SQL(
                "SELECT notification_id, originator_id, originator_version, topic, state"
                " FROM {} WHERE notification_id = ANY(%s) ORDER BY notification_id"
            ).format(self.events),
            (list(recorded_at),),
        )
        rows = cursor.fetchall()
        if len(rows) != len(recorded_at):
            raise ChainGap(sorted(set(recorded_at) - {int(r[0]) for r in rows}))
        cursor.execute(
            sql.SQL("SELECT chain_hash FROM {} ORDER BY position DESC LIMIT 1").format(self.chain)
        )
        head = cursor.fetchone()
        previous = bytes(head[0]) if head else GENESIS
        links: list[tuple[Any, ...]] = []
        for position, originator_id, version, topic, state in rows:
            this_event = event_hash(position, originator_id, version, topic, bytes(state))
            previous = chain_hash(previous, this_event)
            links.append(
                (
                    position,
                    originator_id,
                    version,
                    topic,
                    recorded_at[position],
                    this_event,
                    previous,
                )
            )
        cursor.executemany(
            sql.SQL(
                "INSERT INTO {} (position, originator_id, originator_version, topic, recorded_at,"
                " event_hash, chain_hash) VALUES (%s, %s, %s, %s, %s, %s, %s)"
            ).format(self.chain),
            links,
        )


class ChainGap(Exception):
    """Events the runner read vanished before they were hashed: never expected, never skipped."""

    retryable = True

    def __init__(self, positions: list[int]) -> None:
        self.positions = positions
        super().__init__(f"events at positions {positions[:10]} could not be read for hashing")
