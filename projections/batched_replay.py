"""Rebuilds the read models (balances, channels, settlements) into a fresh schema, scanning the
log once.

What `settle replay` runs instead of one incremental follower per read model, each reading and
decoding the whole log. The result is the same tables (a test compares them on a history with
every event type), reached by three cheaper routes:

- the log is scanned once, in PostgreSQL (`_survey`): it counts the events per topic, sums the
  packet totals (below) and lists the positions of the other events; of those, only the ones
  of topics the read models handle are then fetched, by position (the primary key), in large
  batches; each is decoded once by the application's own mapper and fanned out to every read
  model, whose own `apply` writes it, in log order, the statements pipelined;
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
from dataclasses import dataclass, field
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
"""Events fetched (by position) and applied at a time."""

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
        survey = _survey(app, own, span, _SUMMED_TOPIC if _can_sum(app) else None)
        decoded = sorted(
            position
            for topic, positions in survey.positions.items()
            if _read_model_topic(topic)
            for position in positions
        )
        for start in range(0, len(decoded), fetch):
            _apply(app, own, cursor, projections, decoded[start : start + fetch])
        _add_packet_totals(own, schema, survey.totals)
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
    return sum(survey.counts.values())


@dataclass
class _Survey:
    """One scan of the log's range: events per topic, and the packet totals per account."""

    counts: dict[str, int] = field(default_factory=dict)
    # the positions of the events not summed, by topic
    positions: dict[str, list[int]] = field(default_factory=dict)
    # account id, outgoing total, incoming total, last version: one per account with packets
    totals: list[tuple[Any, Any, Any, Any]] = field(default_factory=list)


def _survey(
    app: EventSource, cursor: psycopg.Cursor[Any], span: tuple[int, int], summed: str | None
) -> _Survey:
    """Counts the range's events per topic, lists the positions of those not of the `summed`
    topic, and adds up each account's totals of that one, in one scan: only the summed topic's
    states are parsed (`json_to_record` takes both totals from one parse). Parallel workers may
    run it: it writes nothing."""
    rows = cursor.execute(
        sql.SQL(
            "SELECT topic, CASE WHEN topic = %(summed)s THEN originator_id END AS account,"
            " count(*), sum(totals.outgoing_total), sum(totals.incoming_total),"
            " max(originator_version),"
            " array_agg(notification_id) FILTER (WHERE topic IS DISTINCT FROM %(summed)s)"
            " FROM {},"
            " json_to_record(CASE WHEN topic = %(summed)s"
            " THEN convert_from(state, 'UTF8')::json ELSE '{{}}'::json END)"
            " AS totals (outgoing_total numeric, incoming_total numeric)"
            " WHERE notification_id > %(after)s AND notification_id <= %(head)s"
            " GROUP BY topic, account"
        ).format(events_table(app)),
        {"summed": summed, "after": span[0], "head": span[1]},
    ).fetchall()
    survey = _Survey()
    for topic, account, count, outgoing, incoming, version, positions in rows:
        survey.counts[topic] = survey.counts.get(topic, 0) + int(count)
        if account is not None:
            survey.totals.append((account, outgoing, incoming, version))
        if positions:
            survey.positions.setdefault(topic, []).extend(positions)
    return survey


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


def _apply(
    app: EventSource,
    reader: psycopg.Cursor[Any],
    writer: psycopg.Cursor[Any],
    projections: Sequence[Projection],
    positions: list[int],
) -> None:
    """Fetches the events at `positions` (ascending), decodes each once, and applies them to
    every projection, in log order."""
    rows = reader.execute(
        sql.SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {}"
            " WHERE notification_id = ANY(%s) ORDER BY notification_id"
        ).format(events_table(app)),
        (positions,),
    ).fetchall()
    to_event = app.mapper.to_domain_event
    events = [
        PositionedEvent(
            position,
            to_event(
                Notification(
                    id=position,
                    originator_id=originator_id,
                    originator_version=version,
                    topic=topic,
                    state=bytes(state),
                )
            ),
            topic,
        )
        for position, originator_id, version, topic, state in rows
    ]
    # Pipelined: the projections' statements go out without waiting for each result.
    with writer.connection.pipeline():
        for projection in projections:
            projection.apply(writer, events)


def _add_packet_totals(
    cursor: psycopg.Cursor[Any], schema: str, totals: list[tuple[Any, Any, Any, Any]]
) -> None:
    """What BalancesProjection does for each PacketsRecorded, with the totals summed per
    account: one row updated per account. Written after the other events, whose updates of
    the same rows add up the same whatever the order; the version kept is the greatest."""
    if not totals:
        return
    columns = [list(column) for column in zip(*totals, strict=True)]
    cursor.execute(
        sql.SQL(
            "UPDATE {} b SET payable = b.payable + s.outgoing,"
            " receivable = b.receivable + s.incoming, version = greatest(b.version, s.version)"
            " FROM unnest(%s::uuid[], %s::numeric[], %s::numeric[], %s::bigint[])"
            " AS s (account_id, outgoing, incoming, version) WHERE b.account_id = s.account_id"
        ).format(sql.Identifier(schema, "balances")),
        columns,
    )
