"""Any command on one aggregate, run inside the store's atomic save: for tests that set up a
state the use cases reach only through a chain (an observed chain event, a raced proof).

The application exposes no such generic mutator on purpose: every change an entrypoint or a
process makes goes through a named use case in `application/commands/`, which checks what the
change depends on (a `Settlement` refusing a reused id, a channel's next proof) in the same save.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.store import AggregateStore
from domain.channel import Channel
from domain.settlement import Settlement

A = TypeVar("A", bound=Aggregate)
R = TypeVar("R")


def change(app: AggregateStore, aggregate_id: UUID, kind: type[A], command: Callable[[A], R]) -> R:
    return app._change(aggregate_id, kind, command)


def change_channel(app: AggregateStore, channel_id: UUID, command: Callable[[Channel], R]) -> R:
    return app._change(channel_id, Channel, command)


def change_settlement(
    app: AggregateStore, settlement_id: UUID, command: Callable[[Settlement], R]
) -> R:
    return app._change(settlement_id, Settlement, command)
