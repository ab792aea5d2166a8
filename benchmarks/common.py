"""Shared benchmark plumbing: a database (embedded unless DATABASE_URL is set) and timing."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from adapters.postgres.embedded import EmbeddedPostgres, drop_database, ensure_database
from adapters.postgres.migrations import apply_migrations


@contextmanager
def benchmark_database(name: str) -> Iterator[str]:
    """A fresh, migrated database; on an embedded server unless DATABASE_URL names a cluster."""
    url = os.environ.get("DATABASE_URL")
    if url:
        admin = url
        server = None
    else:
        server = EmbeddedPostgres(
            Path(tempfile.mkdtemp(prefix="bench-pg-")) / "data", delete_on_stop=True
        ).start()
        admin = server.url("postgres")
    try:
        drop_database(admin, name)
        ensure_database(admin, name)
        target = server.url(name) if server else _with_dbname(admin, name)
        apply_migrations(target)
        yield target
        drop_database(admin, name)
    finally:
        if server is not None:
            server.stop()


def _with_dbname(url: str, name: str) -> str:
    import psycopg.conninfo

    params = psycopg.conninfo.conninfo_to_dict(url)
    params["dbname"] = name
    return psycopg.conninfo.make_conninfo(**params)  # type: ignore[arg-type]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
