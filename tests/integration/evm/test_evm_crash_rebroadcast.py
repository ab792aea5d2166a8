"""SIGKILL between recording a signed transaction and seeing its receipt, then restart:
the restarted process re-broadcasts the recorded bytes and the deposit is paid exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from eth_account import Account

from adapters.evm.token_network import TokenNetworkClient
from adapters.evm.transactions import NonceManager, SignedTransaction, TransactionSender
from adapters.signing import LocalKeySigner
from tests.support.evm_rail import Rail, new_participant

CHILD = Path(__file__).with_name("evm_crash_child.py")


def run_and_kill(arguments: list[str], key: str, record: Path) -> None:
    environment = {**os.environ, "CRASH_KEY": key}
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(CHILD.parents[3]), environment.get("PYTHONPATH", "")]
    )
    child = subprocess.Popen(
        [sys.executable, str(CHILD), *arguments], env=environment, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while not record.exists():
            assert child.poll() is None, f"child exited early with {child.returncode}"
            assert time.monotonic() < deadline, "child never recorded its transaction"
            time.sleep(0.05)
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL


@pytest.mark.parametrize("phase", ["before-broadcast", "after-broadcast"])
def test_a_killed_deposit_is_rebroadcast_and_paid_once(
    rail: Rail, anvil_url: str, tmp_path: Path, phase: str
) -> None:
    account = Account.create()
    payer = new_participant(
        rail.web3,
        NonceManager(),
        rail.token_address,
        rail.token_network_address,
        rail.out_dir,
        account,
    )
    opened = payer.network.execute(payer.network.prepare_open_channel(rail.bob.address, 600))
    channel_id = payer.network.channel_id_from(opened)
    nonce_before = rail.web3.eth.get_transaction_count(payer.address)
    balance_before = payer.token.balance_of(payer.address)
    record = tmp_path / "signed.json"

    run_and_kill(
        [
            anvil_url,
            rail.token_network_address,
            str(rail.out_dir),
            str(channel_id),
            "100",
            str(record),
            phase,
        ],
        account.key.hex(),
        record,
    )

    # The restarted process knows only the record.
    recorded = SignedTransaction.from_record(**json.loads(record.read_text()))
    nonces = NonceManager()
    nonces.observe(recorded.sender, recorded.nonce)
    restarted = TokenNetworkClient(
        TransactionSender(rail.web3, LocalKeySigner(account), nonces, poll_interval_seconds=0.05),
        rail.token_network_address,
        confirmations=0,
        out_dir=rail.out_dir,
    )
    confirmation = restarted.execute(recorded)
    again = restarted.execute(recorded)

    assert confirmation.succeeded and again.block_number == confirmation.block_number
    assert rail.web3.eth.get_transaction_count(payer.address) == nonce_before + 1
    assert payer.token.balance_of(payer.address) == balance_before - 100
    assert restarted.participant(channel_id, payer.address).deposit == 100
