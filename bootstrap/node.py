"""The one place that builds a node from settings: database, migrations, application, projections.

Nothing else constructs adapters. A node with no DATABASE_URL starts an embedded PostgreSQL
under `data_dir` and stops it on close. The node has one connection pool, the event-sourced
application's own, which its read side (and the HTTP API's reads) share.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from types import TracebackType
from typing import Any

from psycopg_pool import ConnectionPool

from adapters.postgres.embedded import EmbeddedPostgres, ensure_database
from adapters.postgres.migrations import apply_migrations
from application.app import SettlementApp
from application.event_store import postgres_env
from bootstrap.settings import Settings
from projections.read_side import ReadSide
from projections.runner import Projection, ProjectionRunner

log = logging.getLogger(__name__)

POOL_SIZE = 4
# Connections opened on demand beyond POOL_SIZE: a busy node (followers, executor workers, HTTP)
# may hold up to POOL_SIZE + POOL_OVERFLOW, while an idle one (the demo runs four) keeps few.
POOL_OVERFLOW = 20
"""Connections kept open (as many again may overflow), shared by commands, reads and HTTP."""


def application_pool(app: SettlementApp) -> ConnectionPool[Any]:
    """The event store's own connection pool, which everything else in the process shares."""
    recorder: Any = app.recorder  # a PostgresApplicationRecorder, by postgres_env
    recorder.datastore.pool.open(wait=True, timeout=30.0)
    pool: ConnectionPool[Any] = recorder.datastore.pool
    return pool


@dataclass
class Node:
    settings: Settings
    database_url: str
    app: SettlementApp
    embedded: EmbeddedPostgres | None = None
    _runners: list[ProjectionRunner] = field(default_factory=list)

    @property
    def pool(self) -> ConnectionPool[Any]:
        """The application's pool: autocommit connections with dict rows."""
        return application_pool(self.app)

    def read_side(self) -> ReadSide:
        return ReadSide(self.pool, self.app)

    def runner(self, projection: Projection, schema: str = "public") -> ProjectionRunner:
        runner = ProjectionRunner(
            self.app,
            self.pool,
            projection,
            batch_size=self.settings.projection_batch_size,
            schema=schema,
        )
        self._runners.append(runner)
        return runner

    def read_model_runners(self) -> list[ProjectionRunner]:
        from bootstrap.followers import read_model_projections

        return [self.runner(p) for p in read_model_projections()]

    def catch_up_read_models(self) -> int:
        return sum(runner.catch_up() for runner in self.read_model_runners())

    def close(self) -> None:
        for runner in self._runners:
            runner.close()
        self._runners.clear()
        self.app.close()
        if self.embedded is not None:
            self.embedded.stop()
            self.embedded = None

    def __enter__(self) -> Node:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def database_url_for(settings: Settings) -> tuple[str, EmbeddedPostgres | None]:
    """The configured DATABASE_URL, or an embedded server's, started under data_dir."""
    if settings.database_url:
        return settings.database_url, None
    embedded = EmbeddedPostgres(settings.data_dir / "postgres").start()
    ensure_database(embedded.url("postgres"), settings.database_name)
    return embedded.url(settings.database_name), embedded


def open_node(settings: Settings, *, migrate: bool = True) -> Node:
    url, embedded = database_url_for(settings)
    try:
        if migrate:
            applied = apply_migrations(url)
            if applied:
                log.info("migrations applied", extra={"versions": [m.version for m in applied]})
        app = SettlementApp(env=postgres_env(url, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW))
        app.batch_window = timedelta(hours=settings.packets.idempotency_window_hours)
        app.claim_window = timedelta(hours=settings.claims.idempotency_window_hours)
    except BaseException:
        if embedded is not None:
            embedded.stop()
        raise
    return Node(settings=settings, database_url=url, app=app, embedded=embedded)
