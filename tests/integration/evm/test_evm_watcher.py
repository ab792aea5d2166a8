"""The chain watcher on Anvil: every TokenNetwork log decoded once, in order, only when
confirmed, resumable from the cursor, and an RPC outage leaves the cursor where it was."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from web3 import HTTPProvider, Web3

from adapters.evm.balance_proof import BalanceProof
from adapters.evm.chains import advance_time, mine_blocks
from adapters.evm.errors import RpcUnavailable
from adapters.evm.watcher import ChainWatcher, ChannelLog
from tests.support.evm_rail import SETTLE_TIMEOUT, Rail


class SwitchableProvider(HTTPProvider):
    """Fault injection at the adapter's edge: while `down`, every request fails to connect."""

    down = False

    def make_request(self, method: Any, params: Any) -> Any:
        if self.down:
            raise requests.ConnectionError(f"injected outage during {method}")
        return super().make_request(method, params)


def run_a_channel(rail: Rail) -> int:
    """Open, two deposits, close, update, settle: five kinds of log."""
    channel_id = rail.open_funded(100, 50)
    bob_proof = BalanceProof(channel_id, 1, 10)
    rail.alice.network.execute(
        rail.alice.network.prepare_close(
            channel_id, bob_proof, rail.bob.network.sign_balance_proof(bob_proof)
        )
    )
    alice_proof = BalanceProof(channel_id, 2, 30)
    rail.bob.network.execute(
        rail.bob.network.prepare_update(
            channel_id, alice_proof, rail.alice.network.sign_balance_proof(alice_proof)
        )
    )
    advance_time(rail.web3, SETTLE_TIMEOUT + 1)
    rail.bob.network.execute(rail.bob.network.prepare_settle(channel_id))
    return channel_id


def read_all(watcher: ChainWatcher, cursor: int) -> tuple[list[ChannelLog], int]:
    logs: list[ChannelLog] = []
    for batch in watcher.batches(cursor):
        logs.extend(batch.logs)
        cursor = batch.next_cursor
    return logs, cursor


def watcher_for(rail: Rail, web3: Web3 | None = None, **options: Any) -> ChainWatcher:
    return ChainWatcher(
        web3 or rail.web3,
        rail.token_network_address,
        rail.alice.network.abi,
        confirmations=options.get("confirmations", 0),
        max_block_range=options.get("max_block_range", 3),
    )


def test_every_channel_log_is_decoded_once_in_chain_order(rail: Rail) -> None:
    start = rail.web3.eth.block_number
    channel_id = run_a_channel(rail)
    logs, _ = read_all(watcher_for(rail), start)

    assert [log.kind for log in logs] == [
        "ChannelOpened",
        "ChannelNewDeposit",
        "ChannelNewDeposit",
        "ChannelClosed",
        "NonClosingBalanceProofUpdated",
        "ChannelSettled",
    ]
    assert {log.onchain_channel_id for log in logs} == {channel_id}
    assert len({log.key for log in logs}) == len(logs)
    assert logs[1].fields == {
        "channelId": channel_id,
        "participant": rail.alice.address,
        "totalDeposit": 100,
    }
    settled = logs[-1].fields  # alice 100 - 30 + 10, bob 50 - 10 + 30
    assert (settled["participant1Amount"], settled["participant2Amount"]) == (80, 70)
    assert settled["cooperative"] is False


def test_logs_newer_than_the_confirmation_depth_wait(rail: Rail) -> None:
    start = rail.web3.eth.block_number
    rail.open_funded(0, 0)
    watcher = watcher_for(rail, confirmations=2)
    logs, cursor = read_all(watcher, start)
    assert logs == []
    mine_blocks(rail.web3, 2)
    logs, _ = read_all(watcher, cursor)
    assert [log.kind for log in logs] == ["ChannelOpened"]


def test_a_new_watcher_resumes_from_the_saved_cursor_without_repeats(rail: Rail) -> None:
    start = rail.web3.eth.block_number
    rail.open_funded(100, 0)
    first, cursor = read_all(watcher_for(rail), start)
    channel_id = first[0].onchain_channel_id
    rail.bob.network.execute(rail.bob.network.prepare_set_total_deposit(channel_id, 70))

    second, _ = read_all(watcher_for(rail, max_block_range=1), cursor)  # after a "restart"
    assert [log.kind for log in first] == ["ChannelOpened", "ChannelNewDeposit"]
    assert [log.fields["totalDeposit"] for log in second] == [70]
    assert not {log.key for log in first} & {log.key for log in second}


def test_an_rpc_outage_is_retryable_and_the_cursor_survives_it(rail: Rail, anvil_url: str) -> None:
    start = rail.web3.eth.block_number
    provider = SwitchableProvider(anvil_url)
    watcher = watcher_for(rail, Web3(provider))
    rail.open_funded(100, 0)

    provider.down = True
    with pytest.raises(RpcUnavailable) as caught:
        watcher.poll(start)
    assert caught.value.retryable is True

    provider.down = False
    logs, _ = read_all(watcher, start)
    assert [log.kind for log in logs] == ["ChannelOpened", "ChannelNewDeposit"]
