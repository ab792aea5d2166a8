"""Turns a recorded domain event into the versioned EventMessageV1, attribute by attribute.

Generic on purpose: a new event class is published without code here. UUIDs become strings,
datetimes ISO 8601 strings, enums their values, ints stay JSON integers (money included).
A float is refused — money and counts are never floats — except in the payload fields named
in `MEASUREMENT_FIELDS`, which hold measurements (a routing decision's scores), not money.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from adapters.kafka.messages import EventMessageV1

# Attributes every eventsourcing event carries; they are message fields, not payload.
_ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})

# Event type -> payload fields whose floats are measurements, published as JSON numbers.
MEASUREMENT_FIELDS: dict[str, frozenset[str]] = {
    "Settlement.RailChosen": frozenset({"decision"}),
}


class UnpublishableEvent(Exception):
    """An event that cannot be turned into a message; publishing stops rather than skip it."""

    retryable = False

    def __init__(self, position: int, event_type: str, problem: str) -> None:
        self.position = position
        self.event_type = event_type
        self.problem = problem
        super().__init__(
            f"event {event_type} at position {position} cannot be published: {problem}"
        )


def event_type_of(topic: str) -> str:
    """'domain.peer_account:PeerAccount.Opened' -> 'PeerAccount.Opened'."""
    return topic.rpartition(":")[2]


# Values of these exact types are JSON as they are; checked first, and without building the
# path of each list item or dict value (a path only serves to name a fault).
_PLAIN = frozenset({str, int, bool, type(None)})


def to_json_value(value: Any, field: str, *, measurement: bool = False) -> Any:
    """`measurement`: floats are allowed (finite ones) — a score, never an amount."""
    if type(value) in _PLAIN or value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if measurement and math.isfinite(value):
            return value
        raise ValueError(f"{field} is a float ({value!r}); money and counts must be int")
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Enum):
        return to_json_value(value.value, field)
    if isinstance(value, Decimal):
        if value != value.to_integral_value():
            raise ValueError(f"{field} is a fractional decimal ({value})")
        return int(value)
    if isinstance(value, (list, tuple)):
        return [
            item
            if type(item) in _PLAIN
            else to_json_value(item, f"{field}[{i}]", measurement=measurement)
            for i, item in enumerate(value)
        ]
    if isinstance(value, dict):
        return {
            str(k): v
            if type(v) in _PLAIN
            else to_json_value(v, f"{field}.{k}", measurement=measurement)
            for k, v in value.items()
        }
    if isinstance(value, bytes):
        return "0x" + value.hex()
    raise ValueError(f"{field} has unsupported type {type(value).__name__}")


def event_message(position: int, topic: str, event: Any) -> EventMessageV1:
    event_type = event_type_of(topic)
    aggregate_type = event_type.partition(".")[0]
    measurements = MEASUREMENT_FIELDS.get(event_type, frozenset())
    try:
        payload = {
            name: value
            if type(value) in _PLAIN
            else to_json_value(value, name, measurement=name in measurements)
            for name, value in vars(event).items()
            if name not in _ENVELOPE
        }
        return EventMessageV1(
            event_type=event_type,
            aggregate_type=aggregate_type,
            aggregate_id=event.originator_id,
            aggregate_version=event.originator_version,
            position=position,
            occurred_at=event.timestamp,
            payload=payload,
        )
    except (ValueError, AttributeError) as error:
        raise UnpublishableEvent(position, event_type, str(error)) from None
