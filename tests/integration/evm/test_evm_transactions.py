"""Signing without sending, idempotent re-broadcast of recorded bytes, confirmations, and the
classification of funding and connection failures, on Anvil."""

from __future__ import annotations

import socket

import pytest
from eth_account import Account

from adapters.evm.chains import connect_rpc, mine_blocks
from adapters.evm.errors import ConfirmationTimeout, InsufficientFunds, RpcUnavailable
from adapters.evm.token_network import TokenNetworkClient
from adapters.evm.transactions import NonceManager, TransactionSender, transaction_hash
from adapters.signing import LocalKeySigner
from tests.support.evm_rail import SETTLE_TIMEOUT, Rail


def test_sign_returns_hash_and_bytes_without_sending(rail: Rail) -> None:
    count_before = rail.web3.eth.get_transaction_count(rail.alice.address, "pending")
    signed = rail.alice.network.prepare_open_channel(rail.bob.address, SETTLE_TIMEOUT)
    assert signed.tx_hash == transaction_hash(signed.raw_transaction)
    assert signed.nonce == count_before
    assert rail.web3.eth.get_transaction_count(rail.alice.address, "pending") == count_before
    assert rail.alice.sender.is_known(signed.tx_hash) is False


def test_rebroadcasting_recorded_bytes_after_a_restart_pays_once(rail: Rail) -> None:
    channel_id = rail.open_funded(0, 0)
    signed = rail.alice.network.prepare_set_total_deposit(channel_id, 100)
    rail.alice.sender.broadcast(signed)

    # A restarted process has fresh clients and only the recorded transaction.
    restarted_sender = TransactionSender(
        rail.web3, rail.alice.signer, NonceManager(), poll_interval_seconds=0.05
    )
    restarted = TokenNetworkClient(
        restarted_sender, rail.token_network_address, confirmations=0, out_dir=rail.out_dir
    )
    restarted.execute(signed)
    restarted.execute(signed)

    assert rail.alice.network.participant(channel_id, rail.alice.address).deposit == 100
    assert rail.alice.token.balance_of(rail.token_network_address) == 100
    next_nonce = rail.web3.eth.get_transaction_count(rail.alice.address)
    assert next_nonce == signed.nonce + 1
    assert restarted_sender.nonces.reserve(rail.web3, rail.alice.signer.address) == next_nonce


def test_nonces_are_handed_out_per_key_without_gaps(rail: Rail) -> None:
    first = rail.alice.network.prepare_open_channel(rail.bob.address, SETTLE_TIMEOUT)
    second = rail.alice.token.prepare_approve(rail.bob.address, 1)
    other_key = rail.bob.token.prepare_approve(rail.alice.address, 1)
    assert second.nonce == first.nonce + 1
    assert other_key.nonce == rail.web3.eth.get_transaction_count(rail.bob.address)
    rail.alice.network.execute(first)
    rail.alice.network.execute(second)
    assert rail.web3.eth.get_transaction_count(rail.alice.address) == second.nonce + 1


def test_a_transaction_counts_only_after_the_configured_confirmations(rail: Rail) -> None:
    signed = rail.alice.network.prepare_open_channel(rail.bob.address, SETTLE_TIMEOUT)
    rail.alice.sender.broadcast(signed)
    with pytest.raises(ConfirmationTimeout) as caught:
        rail.alice.sender.wait_confirmed(signed.tx_hash, confirmations=3, timeout_seconds=0.2)
    assert caught.value.retryable is True
    mine_blocks(rail.web3, 3)
    confirmation = rail.alice.sender.wait_confirmed(signed.tx_hash, confirmations=3)
    assert confirmation.succeeded is True
    assert confirmation.confirmations >= 3


def test_an_unfunded_sender_is_an_alert_not_a_retry(rail: Rail) -> None:
    broke = LocalKeySigner(Account.create())
    sender = TransactionSender(rail.web3, broke, NonceManager())
    network = TokenNetworkClient(sender, rail.token_network_address, out_dir=rail.out_dir)
    with pytest.raises(InsufficientFunds) as caught:
        network.execute(network.prepare_open_channel(rail.bob.address, SETTLE_TIMEOUT))
    assert (caught.value.retryable, caught.value.alert) == (False, True)
    assert caught.value.sender == broke.address


def test_an_unreachable_node_is_retryable() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]  # nothing listens once the probe is closed
    with pytest.raises(RpcUnavailable) as caught:
        connect_rpc(f"http://127.0.0.1:{closed_port}", 1)
    assert (caught.value.retryable, caught.value.alert) == (True, False)
