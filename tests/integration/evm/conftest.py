"""Anvil on 127.0.0.1 for the EVM integration tests, and the compiled contracts they deploy."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3

from adapters.evm.artifacts import default_out_dir
from adapters.evm.chains import connect_rpc
from devtools.anvil import ANVIL, INSTALL_COMMAND, AnvilProcess
from tests.support.evm_rail import Rail, build_rail

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def npm_toolchain() -> Path:
    """node_modules/ with solc, forge and anvil at package.json's exact versions."""
    if not ANVIL.exists():
        subprocess.run(INSTALL_COMMAND.split(), cwd=REPO, check=False)
    if not ANVIL.exists():
        pytest.skip(f"anvil not installed at {ANVIL} and `{INSTALL_COMMAND}` did not install it")
    return REPO / "node_modules"


@pytest.fixture(scope="session")
def contracts_out(npm_toolchain: Path) -> Path:
    """contracts/out/, built once per session when missing."""
    out = default_out_dir()
    if not (out / "TokenNetwork.sol" / "TokenNetwork.json").exists():
        subprocess.run([str(REPO / "scripts" / "build-contracts")], cwd=REPO, check=True)
    return out


@pytest.fixture(scope="session")
def anvil_url(npm_toolchain: Path) -> Iterator[str]:
    """One Anvil node for the session (auto-mining), its process group killed at teardown."""
    with AnvilProcess(ANVIL) as node:
        yield node.url


@pytest.fixture
def anvil(anvil_url: str) -> Web3:
    return connect_rpc(anvil_url, timeout_seconds=10)


@pytest.fixture
def rail(anvil: Web3, contracts_out: Path) -> Rail:
    """Fresh TestToken + TokenNetwork on Anvil, and two funded participants, alice and bob."""
    return build_rail(anvil, contracts_out)
