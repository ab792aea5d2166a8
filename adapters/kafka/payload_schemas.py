"""The payload of every published event type as a JSON Schema, generated from the event classes.

The publisher sends every event the store records (`event_mapping.event_message`), so every
event class of every aggregate in `domain/` gets a schema: its annotated fields, typed as the
mapping encodes them (UUIDs as strings with format uuid, datetimes as ISO 8601 date-time
strings, money and counts as JSON integers, enums as their values). A field with a default is
optional: events stored before it existed do not carry it. No other field is allowed, so a
field the schema does not describe fails validation instead of passing unnoticed.

One document per event type (`payloads/<event_type>.v1.json`): a consumer looks its schema up
by the message's `event_type` header, without dispatching on a discriminator, and a new event
type adds a file without changing the ones consumers already hold.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing
from functools import cache
from types import ModuleType
from typing import Any

from eventsourcing.domain import Aggregate, CanInitAggregate, CanMutateAggregate
from pydantic import BaseModel, ConfigDict, create_model

import domain

# Attributes every eventsourcing event carries; they are message fields, not payload
# (see event_mapping._ENVELOPE).
_ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})


def _domain_modules() -> list[ModuleType]:
    return [
        importlib.import_module(f"{domain.__name__}.{info.name}")
        for info in pkgutil.iter_modules(domain.__path__)
    ]


def aggregate_classes() -> list[type[Aggregate]]:
    """Every aggregate class defined in `domain/`, by name: all of them are published."""
    found: dict[str, type[Aggregate]] = {}
    for module in _domain_modules():
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, Aggregate)
                and value is not Aggregate
                and value.__module__ == module.__name__
            ):
                found[value.__qualname__] = value
    return [found[name] for name in sorted(found)]


def _event_classes_of(aggregate: type[Aggregate]) -> dict[str, type[Any]]:
    """Event name -> class. The library gives every aggregate an `Event` base and a default
    `Created`; neither is ever recorded when the aggregate declares its own creation event."""
    events = {
        name: value
        for name in dir(aggregate)
        if inspect.isclass(value := getattr(aggregate, name))
        and issubclass(value, CanMutateAggregate)
        and value.__qualname__ == f"{aggregate.__qualname__}.{name}"
        and name != "Event"
    }
    if any(issubclass(cls, CanInitAggregate) and n != "Created" for n, cls in events.items()):
        events.pop("Created", None)
    return events


@cache
def event_classes() -> dict[str, type[Any]]:
    """Event type ('PeerAccount.Opened', as on the wire) -> event class, sorted."""
    found = {
        f"{aggregate.__qualname__}.{name}": cls
        for aggregate in aggregate_classes()
        for name, cls in _event_classes_of(aggregate).items()
    }
    return dict(sorted(found.items()))


def payload_fields(event_class: type[Any]) -> dict[str, tuple[Any, bool]]:
    """Field name -> (annotation, required) of the payload, from the class's annotations."""
    hints = typing.get_type_hints(event_class)  # each base's names resolve in its own module
    return {
        name: (hint, not hasattr(event_class, name))
        for name, hint in hints.items()
        if name not in _ENVELOPE and typing.get_origin(hint) is not typing.ClassVar
    }


@cache
def payload_model(event_type: str) -> type[BaseModel]:
    """A pydantic model of the payload of `event_type` (KeyError if it is not an event type)."""
    event_class = event_classes()[event_type]
    definitions: dict[str, Any] = {
        name: (hint, ... if required else getattr(event_class, name))
        for name, (hint, required) in payload_fields(event_class).items()
    }
    model: type[BaseModel] = create_model(
        event_type.replace(".", ""),
        __config__=ConfigDict(extra="forbid", title=f"{event_type} payload"),
        **definitions,
    )
    return model


def payload_schema(event_type: str) -> dict[str, Any]:
    schema = payload_model(event_type).model_json_schema(mode="validation")
    schema["description"] = (
        f"The `payload` of an EventMessageV1 whose event_type is {event_type}: UUIDs as "
        "strings, times ISO 8601, money as JSON integers in minor units (may exceed 2**53)."
    )
    return schema


def payload_file_name(event_type: str) -> str:
    return f"payloads/{event_type}.v1.json"
