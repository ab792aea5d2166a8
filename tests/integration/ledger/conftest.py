"""Ledger backends for the contract tests: PostgreSQL always, TigerBeetle when one can run."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.ledger.port import LedgerPort
from adapters.ledger.postgres_backend import PostgresLedger
from adapters.ledger.tigerbeetle_backend import TigerBeetleLedger
from devtools.tigerbeetle_replica import LocalReplica

TIGERBEETLE_SKIP = "TigerBeetle: no tigerbeetle binary on PATH and TIGERBEETLE_ADDRESS unset"


@pytest.fixture(scope="session")
def tigerbeetle_cluster() -> Iterator[tuple[int, str]]:
    """(cluster id, addresses) of a reachable TigerBeetle, started here if need be."""
    address = os.environ.get("TIGERBEETLE_ADDRESS")
    if address:
        yield int(os.environ.get("TIGERBEETLE_CLUSTER_ID", "0")), address
        return
    binary = shutil.which("tigerbeetle")
    if binary is None:
        pytest.skip(TIGERBEETLE_SKIP)
    workdir = Path(tempfile.mkdtemp(prefix="settle-tb-"))
    replica = LocalReplica(binary, workdir)
    try:
        replica.start()
        yield replica.cluster_id, replica.address
    finally:
        replica.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def postgres_ledger(database_url: str) -> Iterator[PostgresLedger]:
    ledger = PostgresLedger(database_url)
    try:
        yield ledger
    finally:
        ledger.close()


@pytest.fixture
def tigerbeetle_ledger(tigerbeetle_cluster: tuple[int, str]) -> Iterator[TigerBeetleLedger]:
    cluster_id, addresses = tigerbeetle_cluster
    ledger = TigerBeetleLedger(cluster_id, addresses, deadline_seconds=30.0)
    try:
        yield ledger
    finally:
        ledger.close()


@pytest.fixture(params=["postgres", "tigerbeetle"])
def ledger(request: pytest.FixtureRequest) -> LedgerPort:
    """Each contract test runs once per backend; ids are random, so a shared cluster is fine."""
    backend: LedgerPort = request.getfixturevalue(f"{request.param}_ledger")
    return backend
