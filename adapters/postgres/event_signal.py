"""News of recorded events between processes, through PostgreSQL LISTEN/NOTIFY.

A node's followers wake on the in-process signal (`application.new_events`) when the events were
recorded by the same process. Events recorded by another process (a CLI, a second instance) are
announced with NOTIFY on channel `settle_events` (payload: the position) and relayed into the
listening process's signal. A lost notification costs only latency: followers still poll slowly.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

import psycopg

log = logging.getLogger(__name__)

CHANNEL = "settle_events"


class Signal(Protocol):
    def publish(self, position: int, *, recorded_here: bool = True) -> None: ...


class EventAnnouncer:
    """Sends NOTIFY for the newest position recorded here, off the saving thread (coalesced)."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._pending = 0
        self._sent = 0
        self._wake = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="event-announcer", daemon=True)
        self._thread.start()

    def announce(self, position: int) -> None:
        with self._wake:
            self._pending = max(self._pending, position)
            self._wake.notify()

    def _run(self) -> None:
        conn: psycopg.Connection[tuple[object, ...]] | None = None
        while True:
            with self._wake:
                self._wake.wait_for(lambda: self._stop or self._pending > self._sent)
                if self._stop:
                    break
                position = self._pending
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self.database_url, autocommit=True)
                conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(position)))
                self._sent = position
            except psycopg.Error as error:  # followers elsewhere fall back to polling
                log.warning("event announcement failed", extra={"error": repr(error)})
                conn = None
                with self._wake:
                    self._wake.wait(1.0)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        with self._wake:
            self._stop = True
            self._wake.notify()
        self._thread.join(timeout=5)


def relay_notifications(database_url: str, signal: Signal, stop: threading.Event) -> None:
    """LISTENs until `stop` is set, publishing each announced position into `signal`."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"LISTEN {CHANNEL}")
        while not stop.is_set():
            for notification in conn.notifies(timeout=0.5, stop_after=100):
                try:
                    position = int(notification.payload)
                except ValueError:
                    continue
                signal.publish(position, recorded_here=False)
