"""A reconciliation run, recorded as an event so the audit trail shows every check made.

One aggregate per run, created by one event holding what was checked (up to which position,
for which peer) and every difference found with its amount. The run's key is drawn by the
caller (an id, never a clock read here), so replaying the event builds the same state.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidField
from domain.ids import derive_id

MAX_RECORDED_DIFFERENCES = 1000
"""Differences kept in one event; the count is always exact, the list is bounded."""


class ReconciliationRun(Aggregate):
    @staticmethod
    def create_id(run_key: str) -> UUID:
        return derive_id("reconciliation", run_key)

    class Recorded(Aggregate.Created):
        run_key: str
        peer_id: str | None
        position: int
        checks: dict[str, int]
        differences: list[dict[str, Any]]
        skipped: dict[str, str]
        at: datetime

    @event(Recorded)
    def __init__(
        self,
        run_key: str,
        peer_id: str | None,
        position: int,
        checks: dict[str, int],
        differences: list[dict[str, Any]],
        skipped: dict[str, str],
        at: datetime,
    ) -> None:
        self.run_key = run_key
        self.peer_id = peer_id
        self.position = position
        self.checks = checks
        self.differences = differences
        self.skipped = skipped
        self.at = at

    @classmethod
    def record(
        cls,
        run_key: str,
        *,
        peer_id: str | None,
        position: int,
        checks: dict[str, int],
        differences: list[dict[str, Any]],
        skipped: dict[str, str],
        at: datetime,
    ) -> ReconciliationRun:
        """`checks` maps each check run to its difference count; `skipped` each check not run
        to why."""
        if at.tzinfo is None:
            raise InvalidField("at", at, "must be timezone-aware")
        if position < 0:
            raise InvalidField("position", position, "must be 0 or more")
        if any(count < 0 for count in checks.values()):
            raise InvalidField("checks", checks, "counts must be 0 or more")
        return cls(
            run_key=run_key,
            peer_id=peer_id,
            position=position,
            checks=dict(checks),
            differences=list(differences[:MAX_RECORDED_DIFFERENCES]),
            skipped=dict(skipped),
            at=at,
        )

    @property
    def clean(self) -> bool:
        return not any(self.checks.values())
