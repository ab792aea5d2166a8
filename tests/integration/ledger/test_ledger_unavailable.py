"""An unreachable ledger is a clear, retryable error within the deadline, never a hang."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from adapters.ledger.errors import LedgerUnavailable
from adapters.ledger.port import Account
from adapters.ledger.postgres_backend import PostgresLedger
from adapters.ledger.tigerbeetle_backend import TigerBeetleLedger
from devtools.tigerbeetle_replica import free_port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers, like a replica that hangs."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_tigerbeetle_without_a_replica_raises_retryable_unavailable() -> None:
    ledger = TigerBeetleLedger(0, str(free_port()), deadline_seconds=0.5)
    try:
        with pytest.raises(LedgerUnavailable) as raised:
            ledger.lookup_accounts([1])
        assert raised.value.retryable
        assert raised.value.operation == "lookup_accounts"
        assert "within 0.5s" in str(raised.value)
        # The client is rebuilt: the next call fails the same clear way.
        with pytest.raises(LedgerUnavailable):
            ledger.create_accounts([Account(id=1, ledger=1, code=1)])
    finally:
        ledger.close()


def test_tigerbeetle_replica_that_never_answers_raises_unavailable(silent_port: int) -> None:
    ledger = TigerBeetleLedger(0, f"127.0.0.1:{silent_port}", deadline_seconds=0.5)
    try:
        with pytest.raises(LedgerUnavailable) as raised:
            ledger.lookup_transfers([1])
        assert raised.value.retryable
    finally:
        ledger.close()


def test_postgres_unreachable_raises_retryable_unavailable(tmp_path: object) -> None:
    ledger = PostgresLedger(f"postgresql://settle@127.0.0.1:{free_port()}/none", deadline_seconds=1)
    try:
        with pytest.raises(LedgerUnavailable) as raised:
            ledger.lookup_accounts([1])
        assert raised.value.retryable
        assert raised.value.backend == "postgres"
    finally:
        ledger.close()
