"""Fixtures shared by every test: a real embedded PostgreSQL, one fresh database per test."""

from __future__ import annotations

import itertools
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.postgres.embedded import EmbeddedPostgres, drop_database, ensure_database
from adapters.postgres.migrations import apply_migrations
from tests.support.throwaway_postgres import create_from_template, no_durability

_TEMPLATE = "settle_template"
_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[EmbeddedPostgres]:
    """One embedded PostgreSQL for the whole session (per xdist worker), not durable (nothing
    outlives the session), stopped and deleted at the end."""
    base = Path(tempfile.mkdtemp(prefix="settle-pg-"))
    server = EmbeddedPostgres(base / "data", delete_on_stop=True).start()
    try:
        admin = server.url("postgres")
        no_durability(admin)
        ensure_database(admin, _TEMPLATE)
        apply_migrations(server.url(_TEMPLATE))
        yield server
    finally:
        server.stop()


def _fresh_database(server: EmbeddedPostgres, prefix: str, template: str | None) -> Iterator[str]:
    name = f"{prefix}_{os.getpid()}_{next(_counter)}"
    admin = server.url("postgres")
    if template is None:
        ensure_database(admin, name)
    else:
        create_from_template(admin, name, template)
    try:
        yield server.url(name)
    finally:
        drop_database(admin, name)


@pytest.fixture
def database_url(pg_server: EmbeddedPostgres) -> Iterator[str]:
    """A new database with every migration applied, dropped after the test."""
    yield from _fresh_database(pg_server, "t", _TEMPLATE)


@pytest.fixture
def empty_database_url(pg_server: EmbeddedPostgres) -> Iterator[str]:
    """A new database with no migrations applied."""
    yield from _fresh_database(pg_server, "e", None)


@pytest.fixture
def database_url_b(pg_server: EmbeddedPostgres) -> Iterator[str]:
    """A second fresh migrated database, for a second node in the same test."""
    yield from _fresh_database(pg_server, "b", _TEMPLATE)


@pytest.fixture(scope="session")
def anvil_url() -> Iterator[str]:
    """One Anvil node on 127.0.0.1 for the session (contracts built first), killed at the end."""
    from adapters.evm.artifacts import default_out_dir
    from devtools.anvil import ANVIL, INSTALL_COMMAND, AnvilProcess

    repo = Path(__file__).resolve().parents[1]
    if not ANVIL.exists():
        pytest.fail(
            f"anvil is not installed at {ANVIL}: run `{INSTALL_COMMAND}` (scripts/bootstrap)"
        )
    if not (default_out_dir() / "TokenNetwork.sol" / "TokenNetwork.json").exists():
        subprocess.run([str(repo / "scripts" / "build-contracts")], cwd=repo, check=True)
    with AnvilProcess(ANVIL) as node:
        yield node.url


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest first (tests marked `slow(seconds)`, a rough CI figure used for ordering only),
    then every other test in collection order, so the long poles start at once on separate
    workers and short tests fill the gaps, instead of one starting last and the run waiting on
    it alone. Under xdist (`--maxschedchunk=1`, pyproject.toml) each worker is handed the next
    two tests at the start, then one more as each ends: the first 2n slow tests are paired
    longest with shortest, so no worker starts with the two longest back to back."""

    def estimate(item: pytest.Item) -> float:
        marker = item.get_closest_marker("slow")
        if marker is None:
            return 0.0
        return float(marker.args[0]) if marker.args else 1.0

    slow = sorted((i for i in items if estimate(i) > 0), key=estimate, reverse=True)
    rest = [i for i in items if estimate(i) == 0]
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    head, tail = slow[: 2 * workers], slow[2 * workers :]
    paired = [t for k in range(len(head) // 2) for t in (head[k], head[-1 - k])]
    if len(head) % 2:
        paired.append(head[len(head) // 2])
    items[:] = [*paired, *tail, *rest]
