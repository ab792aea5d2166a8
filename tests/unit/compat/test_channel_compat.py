"""Channel events and snapshots stored by earlier code still replay, under the same topics.

`channel.json` was recorded (by `channel_recording.py`) from the code before `Channel` was split
into mixins. A changed topic, a renamed or missing field, or a changed effect of an event on the
channel's state fails one of these tests.

One change is deliberate (issue 14): the state no longer keeps the observed logs nor the final
transactions (confirmed or dropped), only a count of signed ones (`_now`); old snapshots are
upcast (`Channel.upcast_v1_v2`), and the indexes that hold both now are tested in
`tests/unit/test_channel_indexes.py` and `tests/integration/test_channel_indexes_postgres.py`.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from uuid import UUID

import pytest

from application.store import AggregateStore
from domain.channel import Channel
from tests.unit.compat.channel_recording import (
    FIXTURE,
    decoded,
    drive,
    event_topics,
    replay,
    state_of,
    stored,
)

RECORDED: dict[str, Any] = json.loads(FIXTURE.read_text())
AGGREGATES = RECORDED["aggregates"]
ALL_EVENTS = [r for a in AGGREGATES for r in a["events"]]


def _now(state: dict[str, Any]) -> dict[str, Any]:
    """A recorded state as the current code keeps it."""
    now = {k: v for k, v in state.items() if k != "observed_logs"}
    transactions = state["transactions"]
    now["transactions"] = {
        h: tx for h, tx in transactions.items() if not tx["confirmed"] and not tx.get("dropped")
    }
    now["transactions_signed"] = len(transactions)
    return now


def test_the_aggregate_defines_exactly_the_recorded_event_topics() -> None:
    assert event_topics() == RECORDED["topics"]


def test_the_fixture_holds_every_event_the_aggregate_can_record() -> None:
    recordable = set(RECORDED["topics"]) - {
        "domain.channel:Channel.Event",
        "domain.channel:Channel.Created",
    }
    assert {r["topic"] for r in ALL_EVENTS} == recordable
    assert any(a["snapshots"] for a in AGGREGATES)


@pytest.mark.parametrize(
    "record", ALL_EVENTS, ids=lambda r: f"{r['topic']}@{r['originator_version']}"
)
def test_each_stored_event_resolves_to_the_same_class_with_the_same_fields(
    record: dict[str, Any],
) -> None:
    app = AggregateStore()
    event = decoded(app, record)
    assert isinstance(event, Channel.Event)
    assert type(event) is getattr(Channel, record["topic"].split(".")[-1])
    fields = {f.name for f in dataclasses.fields(event)}
    state = json.loads(record["state"])
    assert fields == set(state) | {"originator_id", "originator_version"}
    # Built afresh from its fields, the event is stored exactly as it was.
    again = app.mapper.to_stored_event(type(event)(**vars(event)))
    assert again.topic == record["topic"]
    assert json.loads(again.state) == state


@pytest.mark.parametrize("aggregate", AGGREGATES, ids=lambda a: a["state"]["channel_key"])
@pytest.mark.parametrize("with_snapshots", [False, True])
def test_recorded_history_replays_to_the_recorded_state(
    aggregate: dict[str, Any], with_snapshots: bool
) -> None:
    channel = replay(aggregate, with_snapshots=with_snapshots)
    assert state_of(channel) == _now(aggregate["state"])


@pytest.mark.parametrize("aggregate", [a for a in AGGREGATES if a["snapshots"]])
def test_a_recorded_snapshot_is_upcast_to_the_events_replayed_to_its_version(
    aggregate: dict[str, Any],
) -> None:
    app = AggregateStore()
    app.recorder.insert_events([stored(r) for r in aggregate["events"]])
    for record in aggregate["snapshots"]:
        snapshot = app.mapper.to_domain_event(stored(record))
        from_snapshot = snapshot.mutate(None)  # type: ignore[attr-defined]
        assert isinstance(from_snapshot, Channel)
        at_version: Channel = app.repository.get(
            UUID(aggregate["id"]), version=record["originator_version"]
        )
        assert state_of(from_snapshot) == state_of(at_version)


def test_the_same_commands_record_the_same_events_today() -> None:
    app = AggregateStore()
    ids = drive(app)
    assert [str(i) for i in ids] == [a["id"] for a in AGGREGATES]
    for aggregate_id, aggregate in zip(ids, AGGREGATES, strict=True):
        now = [
            (s.topic, s.originator_version, s.state)
            for s in app.recorder.select_events(aggregate_id)
        ]
        then = aggregate["events"]
        assert [(topic, version) for topic, version, _ in now] == [
            (e["topic"], e["originator_version"]) for e in then
        ]
        for (_, _, new), old in zip(now, then, strict=True):
            assert _without_time(json.loads(new)) == _without_time(json.loads(old["state"]))
        assert _without_time(state_of(app.load(aggregate_id, Channel))) == _without_time(
            _now(aggregate["state"])
        )


def _without_time(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k not in ("timestamp", "_created_on", "_modified_on")}
