"""A signal that new events were recorded, so followers wake at once instead of polling.

It carries a position, not an edge: a follower waits for "the head is beyond where I am", so a
signal sent while it was busy is never lost — it finds the head already ahead and goes on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class NewEvents:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._head = 0
        self._listeners: list[Callable[[int], None]] = []

    @property
    def head(self) -> int:
        return self._head

    def publish(self, position: int, *, recorded_here: bool = True) -> None:
        """Called after events up to `position` were committed. Listeners hear only of events
        recorded by this process (`recorded_here`), so news relayed from elsewhere never echoes."""
        with self._changed:
            if position <= self._head:
                return
            self._head = position
            self._changed.notify_all()
        if recorded_here:
            for listener in list(self._listeners):
                listener(position)

    def wait_beyond(self, position: int, timeout: float) -> bool:
        """Blocks until the head is beyond `position` or `timeout` passes; True if it is."""
        with self._changed:
            return self._changed.wait_for(lambda: self._head > position, timeout)

    def subscribe(self, listener: Callable[[int], None]) -> None:
        """`listener(position)` hears of events recorded here, on the saving thread: be quick."""
        self._listeners.append(listener)
