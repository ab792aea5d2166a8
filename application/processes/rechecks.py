"""Settlements to look at again shortly: those whose next step waits on a follower that is
moments behind (the ledger postings of their last event), which no recorded event will announce.

One thread hands each back to the executor when its time comes, first after a few milliseconds,
then after growing delays up to a cap (the executor's periodic scan stays the fallback). It
only says when to look: the step decides again on the settlement's current state.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable
from uuid import UUID

FIRST_DELAY = 0.005
GROWTH = 1.5  # gently: the ledger is usually a few tens of milliseconds behind
MAX_DELAY = 0.5


class Rechecks:
    def __init__(self, submit: Callable[[UUID], bool], stop: threading.Event) -> None:
        self._submit = submit
        self._stop = stop
        self._due: list[tuple[float, UUID]] = []
        self._delays: dict[UUID, float] = {}
        self._changed = threading.Condition()

    def later(self, settlement_id: UUID) -> None:
        """Hands the settlement back after its next delay (growing while it keeps waiting)."""
        with self._changed:
            delay = self._delays.get(settlement_id, FIRST_DELAY / GROWTH) * GROWTH
            self._delays[settlement_id] = delay = min(delay, MAX_DELAY)
            heapq.heappush(self._due, (time.monotonic() + delay, settlement_id))
            self._changed.notify()

    def done(self, settlement_id: UUID) -> None:
        """It moved on: the next wait starts from the first delay again."""
        with self._changed:
            self._delays.pop(settlement_id, None)

    def run(self) -> None:
        while not self._stop.is_set():
            with self._changed:
                now = time.monotonic()
                due = []
                while self._due and self._due[0][0] <= now:
                    due.append(heapq.heappop(self._due)[1])
                if not due:
                    wait = self._due[0][0] - now if self._due else 0.25
                    self._changed.wait(min(wait, 0.25))
                    continue
            for settlement_id in due:
                if not self._submit(settlement_id):  # in hand or the queue full: try again
                    self.later(settlement_id)
