"""Leadership through a PostgreSQL advisory lock, fenced by an epoch.

One instance holds a session-level advisory lock on its own connection and leads: it alone runs
what acts outside the database (settlement executor, chain transactions, ledger postings, Kafka).
When it dies, its session ends, the lock is released and a standby takes it, bumping the epoch in
`node_leadership`. A former leader that was only paused and resumes finds either its connection
gone or a newer epoch, and stops before acting again (`still_leader`). Every outside effect is also
idempotent by id, so the narrow window between the check and the act can at worst repeat one.
"""

from __future__ import annotations

import contextlib
import logging
import threading

import psycopg

log = logging.getLogger(__name__)

LOCK_KEY = 0x5E771E_1EAD  # "settle lead": one lock per database
_EPOCH = "SELECT epoch FROM node_leadership WHERE id = 1"


class LeaderLock:
    def __init__(self, database_url: str, node_id: str, connect_timeout: float = 5.0) -> None:
        self.database_url = database_url
        self.node_id = node_id
        self.connect_timeout = connect_timeout
        self.epoch: int | None = None
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._guard = threading.Lock()

    def try_acquire(self) -> int | None:
        """Takes the lock if free and returns the new epoch; None while another instance leads."""
        with self._guard:
            try:
                conn = self._connection()
                row = conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
                if not (row and row[0]):
                    return None
                row = conn.execute(
                    "UPDATE node_leadership SET epoch = epoch + 1, holder = %s,"
                    " acquired_at = now() WHERE id = 1 RETURNING epoch",
                    (self.node_id,),
                ).fetchone()
                assert row is not None, "node_leadership has its row (migration 0030)"
                self.epoch = int(str(row[0]))
                return self.epoch
            except psycopg.Error as error:
                log.warning("leadership not acquired", extra={"error": repr(error)})
                self._drop()
                return None

    def still_leader(self) -> bool:
        """True while our session holds the lock and no newer epoch was taken."""
        with self._guard:
            if self.epoch is None or self._conn is None or self._conn.closed:
                return False
            try:
                row = self._conn.execute(_EPOCH).fetchone()
            except psycopg.Error:
                self._drop()
                return False
            if row is None or int(str(row[0])) != self.epoch:
                self._drop()
                return False
            return True

    def release(self) -> None:
        with self._guard:
            if self._conn is not None and not self._conn.closed:
                # Closing the session releases the lock anyway.
                with contextlib.suppress(psycopg.Error):
                    self._conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
            self._drop()

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self.database_url, autocommit=True, connect_timeout=int(self.connect_timeout)
            )
        return self._conn

    def _drop(self) -> None:
        self.epoch = None
        if self._conn is not None:
            self._conn.close()
        self._conn = None
