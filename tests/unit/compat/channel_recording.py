"""Channel's stored events and snapshots, recorded to a JSON fixture and replayed from it.

Stored events name their class by topic (`domain.channel:Channel.Opened`) and carry their fields
as the transcoder wrote them, so a refactoring of `Channel` must keep both or old records stop
replaying. `channel.json` was written by this module from the code BEFORE `Channel` was split
into mixins; `test_channel_compat.py` replays it with the current code. Not a test itself.

Regenerate only when a stored format change is intended (and then migrate old records):
    PYTHONPATH=. python -m tests.unit.compat.channel_recording
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEvent
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from application.store import AggregateStore
from domain.channel import Channel
from tests.support import aggregate_commands as aggregates

FIXTURE = Path(__file__).with_name("channel.json")

OURS = "0x00000000000000000000000000000000000000aa"
THEIRS = "0x00000000000000000000000000000000000000bb"


def event_topics() -> list[str]:
    """The topic of every event class the aggregate defines (as `Channel.X` resolves it)."""
    topics = set()
    for name in dir(Channel):
        value = getattr(Channel, name)
        if isinstance(value, type) and issubclass(value, Channel.Event):
            topics.add(get_topic(value))
    return sorted(topics)


def normal(value: Any) -> Any:
    """A JSON-comparable form of aggregate state (enums by value, times and ids as text)."""
    if isinstance(value, dict):
        return {str(k): normal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normal(v) for v in value]
    if isinstance(value, Enum):
        return normal(value.value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value


def state_of(channel: Channel) -> dict[str, Any]:
    return {k: normal(v) for k, v in sorted(vars(channel).items()) if k != "_pending_events"}


# Commands that between them record every event type; the same steps run on old and new code.


def _main_steps() -> list[Callable[[Channel], object]]:
    return [
        lambda c: c.observe_opened(7, "0xA1", 0),
        lambda c: c.observe_deposit(OURS, 1000, "0xa2", 0),
        lambda c: c.observe_deposit(THEIRS, 800, "0xa3", 1),
        lambda c: c.record_our_proof(1, 100, 0, "0x" + "00" * 32, "0xsig1"),
        lambda c: c.receive_partner_proof(1, 50, "0xpsig1"),
        lambda c: c.receive_partner_proof(2, 70, "0xpsig2"),
        lambda c: c.receive_partner_proof(1, 40, "0xpsig0"),  # stale: suspected double spend
        lambda c: c.record_transaction("close", "0xt1", "0xraw1", OURS, 3),
        lambda c: c.record_transaction("close", "0xt2", "0xraw2", OURS, 3),
        lambda c: c.drop_transaction("0xt1", "nonce taken"),
        lambda c: c.confirm_transaction("0xt2", 99, True),
        lambda c: c.observe_closed(OURS, "0xb1", 2),
        lambda c: c.abandon("closed"),
        lambda c: c.record_transaction("settle", "0xt3", "0xraw3", OURS, 4),
        lambda c: c.observe_closer_proof_updated(OURS, 1, 100, "0xb2", 0),
        lambda c: c.observe_payout(THEIRS, 730, 270, "0xc1", 5),
        lambda c: c.confirm_transaction("0xt3", 120, False),
    ]


SNAPSHOT_AFTER = 6  # main steps run before the snapshot (then the rest follow it)


def _open(key: str) -> Channel:
    return Channel.request_open(key, "alice", "USD", 31337, "0xtn", OURS, THEIRS, 500, 6, 2)


def drive(app: AggregateStore) -> list[UUID]:
    """Records two channels in `app`: one through every step, one whose open failed."""
    main = _open("alice:USD:1")
    app.save(main)
    for number, step in enumerate(_main_steps()):
        if number == SNAPSHOT_AFTER:
            app.take_snapshot(main.id)
        aggregates.change_channel(app, main.id, step)
    failed = _open("alice:USD:2")
    app.save(failed)
    aggregates.change_channel(app, failed.id, lambda c: c.fail_open("rpc unreachable"))
    return [main.id, failed.id]


def _record(stored: StoredEvent) -> dict[str, Any]:
    return {
        "topic": stored.topic,
        "originator_id": str(stored.originator_id),
        "originator_version": stored.originator_version,
        "state": stored.state.decode("utf-8"),
    }


def stored(record: dict[str, Any]) -> StoredEvent:
    return StoredEvent(
        originator_id=UUID(record["originator_id"]),
        originator_version=record["originator_version"],
        topic=record["topic"],
        state=record["state"].encode("utf-8"),
    )


def record() -> dict[str, Any]:
    app = AggregateStore()
    aggregates = []
    for aggregate_id in drive(app):
        assert app.snapshots is not None
        aggregates.append(
            {
                "id": str(aggregate_id),
                "events": [_record(s) for s in app.recorder.select_events(aggregate_id)],
                "snapshots": [
                    _record(s) for s in app.snapshots.recorder.select_events(aggregate_id)
                ],
                "state": state_of(app.load(aggregate_id, Channel)),
            }
        )
    return {"topics": event_topics(), "aggregates": aggregates}


def replay(aggregate: dict[str, Any], *, with_snapshots: bool) -> Channel:
    """The channel rebuilt from the recorded records by a fresh store, as production loads it."""
    app = AggregateStore()
    app.recorder.insert_events([stored(r) for r in aggregate["events"]])
    if with_snapshots:
        assert app.snapshots is not None
        app.snapshots.recorder.insert_events([stored(r) for r in aggregate["snapshots"]])
    return app.load(UUID(aggregate["id"]), Channel)


def decoded(app: AggregateStore, record: dict[str, Any]) -> DomainEvent:
    event = app.mapper.to_domain_event(stored(record))
    assert isinstance(event, DomainEvent)
    return event


if __name__ == "__main__":
    FIXTURE.write_text(json.dumps(record(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {FIXTURE}")
