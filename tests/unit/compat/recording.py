"""Stored-event compatibility fixtures: record an aggregate's stored events once, replay them later.

Refactoring an aggregate (splitting it into mixins, moving its events) must not change what is
stored: every event's topic and fields, and the state a stored history rebuilds. A fixture is
written from the code as it is BEFORE the change (`write_fixture`) and committed; the tests then
rebuild each recorded history with the code as it is now (`replay`) and compare. Records are made
by the application's own store (`AggregateStore`, in memory), so topics, transcodings and snapshots
are the ones production writes.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, DomainEvent
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from application.store import AggregateStore

IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}

# Fields whose values depend on when a history was made, not on what the code writes.
TIME_FIELDS = frozenset({"timestamp"})


def new_store() -> AggregateStore:
    """An in-memory store configured as production's (mapper, transcodings, snapshotting)."""
    return AggregateStore(env=IN_MEMORY)


def event_topics(aggregate_cls: type[Aggregate]) -> set[str]:
    """The topics of every event class the aggregate class holds, as the mapper writes them."""
    return {
        get_topic(value)
        for name in dir(aggregate_cls)
        if inspect.isclass(value := getattr(aggregate_cls, name)) and issubclass(value, DomainEvent)
    }


def stored_state(store: AggregateStore, aggregate: Aggregate) -> dict[str, Any]:
    """The aggregate's attributes as the store's transcoder writes them (JSON), for comparing."""
    state = dict(vars(aggregate))
    state.pop("_pending_events", None)
    encoded: dict[str, Any] = json.loads(store.mapper.transcoder.encode(state))
    return encoded


def _record(stored: StoredEvent) -> dict[str, Any]:
    return {
        "originator_id": str(stored.originator_id),
        "originator_version": stored.originator_version,
        "topic": stored.topic,
        "state": json.loads(stored.state),
    }


def _stored(record: dict[str, Any]) -> StoredEvent:
    return StoredEvent(
        originator_id=UUID(record["originator_id"]),
        originator_version=record["originator_version"],
        topic=record["topic"],
        state=json.dumps(record["state"], separators=(",", ":")).encode(),
    )


def record_history(
    store: AggregateStore, name: str, aggregate_id: UUID, snapshot_at: int | None = None
) -> dict[str, Any]:
    """One aggregate's stored events (and a snapshot at `snapshot_at`) and its state after each
    of them (`states[i]` at version i + 1)."""
    assert store.snapshots is not None
    if snapshot_at is not None:
        store.take_snapshot(aggregate_id, version=snapshot_at)
    events = [_record(e) for e in store.recorder.select_events(aggregate_id)]
    versions = range(1, len(events) + 1)
    return {
        "name": name,
        "events": events,
        "snapshots": [_record(s) for s in store.snapshots.recorder.select_events(aggregate_id)],
        "states": [
            stored_state(store, store.repository.get(aggregate_id, version=v)) for v in versions
        ],
    }


def make_fixture(
    aggregate_cls: type[Aggregate], scenarios: Callable[[AggregateStore], list[dict[str, Any]]]
) -> dict[str, Any]:
    """Runs `scenarios` (which saves histories in the store and returns `record_history` results)
    on a fresh store: the fixture for `aggregate_cls` as the current code writes it."""
    return {
        "aggregate": get_topic(aggregate_cls),
        "topics": sorted(event_topics(aggregate_cls)),
        "histories": scenarios(new_store()),
    }


def write_fixture(path: Path, fixture: dict[str, Any]) -> None:
    path.write_text(json.dumps(fixture, indent=1, sort_keys=True) + "\n")


def load_fixture(path: Path) -> dict[str, Any]:
    fixture: dict[str, Any] = json.loads(path.read_text())
    return fixture


def replay(
    history: dict[str, Any], *, with_snapshots: bool, rename: dict[str, str] | None = None
) -> tuple[AggregateStore, list[Aggregate]]:
    """Rebuilds a recorded history with the current code at each of its versions, from its events
    alone or from its snapshot and the events after it; `rename` rewrites topics (to replay
    older names)."""
    store = new_store()
    assert store.snapshots is not None
    events = [dict(record) for record in history["events"]]
    for record in events:
        record["topic"] = (rename or {}).get(record["topic"], record["topic"])
    store.recorder.insert_events([_stored(record) for record in events])
    if with_snapshots:
        store.snapshots.recorder.insert_events([_stored(s) for s in history["snapshots"]])
    aggregate_id = UUID(history["events"][0]["originator_id"])
    versions = range(1, len(events) + 1)
    return store, [store.repository.get(aggregate_id, version=v) for v in versions]


def without_time(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records with their time fields left out, to compare histories made at different times."""
    return [
        {**record, "state": {k: v for k, v in record["state"].items() if k not in TIME_FIELDS}}
        for record in records
    ]
