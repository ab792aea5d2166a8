"""Rebuilds the read models (balances, channels, settlements) into a fresh schema in one pass.

What `settle replay` runs instead of one incremental follower per read model, each reading and
decoding the whole log. The result is the same tables (a test compares them on a history with
every event type), reached by three cheaper routes:

- the log is read once, on one server-side cursor in large fetches, and only the topics the read
  models handle are fetched (the topic filter is in SQL); each event is decoded once by the
  application's own mapper and fanned out to every read model, whose own `apply` writes it, in
  log order;
- `PeerAccount.PacketsRecorded`, nearly every event of a long log, is not decoded in Python: its
  only effect on a read model is to add its two totals to the account's balance and to move the
  row's version on, and additions commute, so PostgreSQL sums the totals per account and the
  balances rows are updated once each, after the other events (the version kept is the greatest,
  which is the last event's: an aggregate's versions rise with the log position);
- everything runs in one transaction that also writes the tracking positions, so a replay that
  dies leaves no half-built tables behind it, and the next one starts over.

The summing route is taken only when the stored states are plain JSON of the current class
version (no cipher, no compressor, no upcast to run); otherwise those events go through the
mapper too, like any other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic, resolve_topic
from psycopg import sql
from psycopg.rows import tuple_row

from domain.channel import Channel
from domain.peer_account import PeerAccount
from domain.settlement import Settlement
from projections.runner import EventSource, PositionedEvent, Projection

FETCH_SIZE = 5000
"""Events fetched from the server-side cursor and applied at a time."""

_READ_MODEL_EVENTS = (PeerAccount.Event, Channel.Event, Settlement.Event)
_SUMMED_TOPIC = get_topic(PeerAccount.PacketsRecorded)


def events_table(app: EventSource) -> sql.Composable:
    recorder = app.recorder
    return sql.Identifier(recorder.datastore.schema, recorder.events_table_name)


def rebuild(
    app: EventSource,
    cursor: psycopg.Cursor[Any],
    projections: Sequence[Projection],
    schema: str,
    head: int,
    *,
    after: int = 0,
    fetch: int = FETCH_SIZE,
) -> int:
    """Applies the events after `after` up to `head` to `projections`, writing into `schema`
    (whose tables hold the read models as of `after`), on `cursor`'s connection in the caller's
    transaction, `fetch` events at a time; records `head` as each projection's position in the
    schema's `projection_tracking`, when it has one. Returns how many events the log holds in
    that range."""
    span = (after, head)
    with cursor.connection.cursor(row_factory=tuple_row) as own:
        counts = _topic_counts(app, own, span)
        summed = _SUMMED_TOPIC in counts and _can_sum(app)
        decoded = [
            t for t in counts if _read_model_topic(t) and not (summed and t == _SUMMED_TOPIC)
        ]
        if decoded:
            _stream(app, cursor, projections, decoded, span, fetch)
        if summed:
            _add_packet_totals(app, own, schema, span)
        tracking = sql.Identifier(schema, "projection_tracking")
        row = own.execute("SELECT to_regclass(%s)", (tracking.as_string(own),)).fetchone()
        if row is not None and row[0] is not None:
            own.executemany(
                sql.SQL(
                    "INSERT INTO {} (projection, position) VALUES (%s, %s)"
                    " ON CONFLICT (projection) DO UPDATE SET position = excluded.position"
                ).format(tracking),
                [(projection.name, head) for projection in projections],
            )
    return sum(counts.values())


def _topic_counts(
    app: EventSource, cursor: psycopg.Cursor[Any], span: tuple[int, int]
) -> dict[str, int]:
    rows = cursor.execute(
        sql.SQL(
            "SELECT topic, count(*) FROM {} WHERE notification_id > %s AND notification_id <= %s"
            " GROUP BY topic"
        ).format(events_table(app)),
        span,
    ).fetchall()
    return {str(topic): int(count) for topic, count in rows}


def _read_model_topic(topic: str) -> bool:
    """Whether the read models apply events of `topic` (what their isinstance checks select).
    A topic that does not resolve is kept: decoding it fails as the incremental follower does."""
    try:
        cls = resolve_topic(topic)
    except Exception:  # the mapper raises the real error when it decodes the event
        return True
    return isinstance(cls, type) and issubclass(cls, _READ_MODEL_EVENTS)


def _can_sum(app: EventSource) -> bool:
    mapper = app.mapper
    plain = getattr(mapper, "cipher", None) is None and getattr(mapper, "compressor", None) is None
    return plain and getattr(PeerAccount.PacketsRecorded, "class_version", 1) == 1


def _stream(
    app: EventSource,
    cursor: psycopg.Cursor[Any],
    projections: Sequence[Projection],
    topics: list[str],
    span: tuple[int, int],
    fetch: int,
) -> None:
    to_event = app.mapper.to_domain_event
    query = sql.SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state FROM {}"
        " WHERE notification_id > %s AND notification_id <= %s AND topic = ANY(%s)"
        " ORDER BY notification_id"
    ).format(events_table(app))
    with cursor.connection.cursor("batched_replay", row_factory=tuple_row) as log:
        log.itersize = fetch
        log.execute(query, (*span, topics))
        while rows := log.fetchmany(fetch):
            events = [
                PositionedEvent(
                    row[0],
                    to_event(
                        Notification(
                            id=row[0],
                            originator_id=row[1],
                            originator_version=row[2],
                            topic=row[3],
                            state=bytes(row[4]),
                        )
                    ),
                    row[3],
                )
                for row in rows
            ]
            # Pipelined: the projections' statements go out without waiting for each result.
            with cursor.connection.pipeline():
                for projection in projections:
                    projection.apply(cursor, events)


def _add_packet_totals(
    app: EventSource, cursor: psycopg.Cursor[Any], schema: str, span: tuple[int, int]
) -> None:
    """What BalancesProjection does for each PacketsRecorded, summed per account in SQL.

    The sums are read back and written with a second statement: PostgreSQL plans a query that
    writes without parallel workers, and the sums (one JSON parse per event, both totals taken
    from it by `json_to_record`) are the long part.
    """
    sums = cursor.execute(
        sql.SQL(
            "SELECT originator_id, sum(totals.outgoing_total), sum(totals.incoming_total),"
            " max(originator_version) FROM {},"
            " json_to_record(convert_from(state, 'UTF8')::json)"
            " AS totals (outgoing_total numeric, incoming_total numeric)"
            " WHERE notification_id > %s AND notification_id <= %s AND topic = %s"
            " GROUP BY originator_id"
        ).format(events_table(app)),
        (*span, _SUMMED_TOPIC),
    ).fetchall()
    if not sums:
        return
    columns = [list(column) for column in zip(*sums, strict=True)]
    cursor.execute(
        sql.SQL(
            "UPDATE {} b SET payable = b.payable + s.outgoing,"
            " receivable = b.receivable + s.incoming, version = greatest(b.version, s.version)"
            " FROM unnest(%s::uuid[], %s::numeric[], %s::numeric[], %s::bigint[])"
            " AS s (account_id, outgoing, incoming, version) WHERE b.account_id = s.account_id"
        ).format(sql.Identifier(schema, "balances")),
        columns,
    )
