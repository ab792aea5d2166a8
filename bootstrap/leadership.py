"""Runs the parts that act outside the database only while this instance leads.

Standbys keep serving reads, claims and read models, and try for the lock every
`interval` seconds; the leader checks every `interval` that it still leads and, if not, stops
its leader parts before anything else is sent.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from bootstrap.supervisor import Supervisor

log = logging.getLogger(__name__)

LeaderParts = Callable[[Supervisor, threading.Event], None]
HANDOVER_INTERVALS = 5


class Lock(Protocol):
    epoch: int | None

    def try_acquire(self) -> int | None: ...

    def still_leader(self) -> bool: ...

    def release(self) -> None: ...


def lead_while_possible(
    lock: Lock,
    start_parts: LeaderParts,
    stop: threading.Event,
    *,
    interval: float = 1.0,
    on_change: Callable[[bool], None] = lambda leading: None,
) -> None:
    """Until `stop`: wait for the lock, run the leader parts while it holds, stop them on loss."""
    try:
        while not stop.is_set():
            epoch = lock.try_acquire()
            if epoch is None:
                stop.wait(interval)
                continue
            log.info("leadership acquired", extra={"epoch": epoch})
            on_change(True)
            term = threading.Event()
            supervisor = Supervisor(term)
            start_parts(supervisor, term)
            while not stop.is_set() and not supervisor.failed and lock.still_leader():
                stop.wait(interval)
            term.set()
            supervisor.join()
            on_change(False)
            if supervisor.failed:
                stop.set()  # a critical leader part failed: the node exits non-zero
                raise RuntimeError(f"leader part failed: {supervisor.fatal}")
            if not stop.is_set():
                log.error("leadership lost; leader parts stopped", extra={"epoch": epoch})
                # Let a standby take over rather than flap back at once.
                stop.wait(interval * HANDOVER_INTERVALS)
    finally:
        lock.release()
