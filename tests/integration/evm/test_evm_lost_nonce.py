"""A recorded transaction whose nonce another transaction took on chain (here: signed, recorded,
then the key's nonce reused before it was broadcast) is recorded as dropped at start-up, never
sent again, and start-up goes on; the purpose is then sent anew with a new transaction."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from web3 import Web3

from adapters.evm.chains import connect_rpc
from application.clock import ManualClock
from devtools.dev_chain import deploy_rails
from domain.channel import Channel
from tests.support.two_nodes import TOKEN_DECIMALS, TestNode, start_node

RAIL = "anvil-a"
PARTNER = "0x00000000000000000000000000000000000000bb"


@pytest.fixture
def node(anvil_url: str, database_url: str) -> Iterator[tuple[Web3, TestNode]]:
    web3 = connect_rpc(anvil_url, 10)
    dev = deploy_rails(web3, [RAIL], token_decimals=TOKEN_DECIMALS, rpc_url=anvil_url)
    us = start_node("node-a", "node-b", database_url, web3, dev, ManualClock())
    try:
        yield web3, us
    finally:
        us.close()


def test_a_transaction_whose_nonce_was_taken_is_dropped_and_start_up_goes_on(
    node: tuple[Web3, TestNode],
) -> None:
    web3, us = node
    rail = us.process.rails[RAIL]
    channel = Channel.request_open(
        "lost-nonce",
        "bob",
        "USD",
        rail.chain_id,
        rail.token_network,
        str(rail.network.our_address),
        PARTNER,
        600,
    )
    us.node.app.create(channel)
    lost = rail.token.prepare_approve(rail.token_network, 1)
    us.node.app.record_transaction_signed(channel.id, "approve:1", lost)
    # Before it is broadcast, another transaction of the same key takes its nonce (a second
    # process with the key, or an operator's wallet) and is mined.
    sender = rail.network.sender  # type: ignore[attr-defined]
    sender.nonces.forget(sender.signer.address)
    other = rail.token.prepare_approve(rail.token_network, 2)
    assert other.nonce == lost.nonce
    rail.network.execute(other)  # type: ignore[attr-defined]

    assert us.process.channels.resume_transactions() == 1  # does not raise: start-up goes on
    [recorded] = us.node.app.recorded_transactions(channel.id)
    assert (recorded.tx_hash, recorded.dropped, recorded.succeeded) == (lost.tx_hash, True, False)
    assert web3.eth.get_transaction_count(sender.signer.address) == other.nonce + 1
    assert us.process.channels.resume_transactions() == 0  # never sent again

    # The purpose is redone with a new transaction on the next attempt.
    receipt = us.process.channels.transactions.send_or_resume(
        channel.id,
        rail,
        "approve:1",
        lambda: rail.token.prepare_approve(rail.token_network, 1),
    )
    assert receipt.succeeded and receipt.tx_hash != lost.tx_hash
