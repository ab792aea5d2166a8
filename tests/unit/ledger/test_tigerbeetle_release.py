"""Client and server releases: a mismatch is said plainly, before starting or at the first call."""

from __future__ import annotations

import stat
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import tigerbeetle as tb

from adapters.ledger.tigerbeetle_backend import LedgerReleaseMismatch, TigerBeetleLedger
from devtools.processes import free_port
from devtools.tigerbeetle_replica import LocalReplica, ReplicaStartError, check_release

CLIENT = version("tigerbeetle")


def fake_binary(tmp_path: Path, release: str, client_min: str) -> str:
    """A `tigerbeetle` that only answers `version --verbose`, as the real one prints it."""
    script = tmp_path / "tigerbeetle"
    script.write_text(
        "#!/bin/sh\n"
        f"echo 'TigerBeetle version {release}+0000000'\n"
        f"echo 'process.release={release}'\n"
        f"echo 'process.release_client_min={client_min}'\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_a_server_of_the_clients_release_is_accepted(tmp_path: Path) -> None:
    check_release(fake_binary(tmp_path, CLIENT, "0.16.4"))


def test_a_server_older_than_the_client_is_refused_before_starting(tmp_path: Path) -> None:
    binary = fake_binary(tmp_path, "0.16.17", "0.16.4")
    with pytest.raises(ReplicaStartError) as raised:
        LocalReplica(binary, tmp_path / "data").start()
    assert f"this client is {CLIENT}" in str(raised.value)
    assert not (tmp_path / "data").exists()  # refused before formatting anything


def test_a_server_that_no_longer_serves_the_client_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ReplicaStartError, match=r"serves clients 9\.0\.0 to 9\.1\.0"):
        check_release(fake_binary(tmp_path, "9.1.0", "9.0.0"))


def test_a_binary_that_prints_no_release_is_refused(tmp_path: Path) -> None:
    script = tmp_path / "tigerbeetle"
    script.write_text("#!/bin/sh\nexit 1\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    with pytest.raises(ReplicaStartError, match="no release"):
        check_release(str(script))


def test_an_eviction_for_release_is_a_final_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def evicted(self: tb.ClientSync, accounts: list[int]) -> Any:
        raise tb.ClientReleaseTooHighError()

    monkeypatch.setattr(tb.ClientSync, "lookup_accounts", evicted)
    ledger = TigerBeetleLedger(0, str(free_port()), deadline_seconds=5.0)
    try:
        with pytest.raises(LedgerReleaseMismatch) as raised:
            ledger.lookup_accounts([1])
        assert not raised.value.retryable
        assert raised.value.client_release == CLIENT
        assert "release too new" in str(raised.value)
    finally:
        ledger.close()
