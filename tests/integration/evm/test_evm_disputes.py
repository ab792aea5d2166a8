"""Disputes on Anvil: the partner closes with a stale picture of the channel (its own payments to
us left off chain); our node puts the partner's latest proof on chain within the challenge
period, settles after it, and the chain pays exactly the off-chain balance, recorded on the
channel. The contest is recorded before broadcast and a recorded one is re-sent after a crash."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest
from web3 import Web3

from adapters.evm.chains import advance_time, connect_rpc
from application.clock import ManualClock
from application.processes.settlement_monitor import SettlementMonitor
from devtools.dev_chain import deploy_rails
from domain.balance_proof import BalanceProof
from domain.channel import Channel, ChannelState
from domain.errors import IllegalTransition
from domain.peer_account import Direction, PacketEntry
from tests.support.two_nodes import TOKEN_DECIMALS, USD, TestNode, befriend, start_node

THRESHOLD = 5_000_000  # 5 USD at scale 6
SETTLE_TIMEOUT = 20  # start_node's chain settings
RAIL = "anvil-a"

Nodes = tuple[Web3, TestNode, TestNode, ManualClock]


@pytest.fixture
def nodes(anvil_url: str, database_url: str, database_url_b: str) -> Iterator[Nodes]:
    web3 = connect_rpc(anvil_url, 10)
    dev = deploy_rails(web3, [RAIL], token_decimals=TOKEN_DECIMALS, rpc_url=anvil_url)
    clock = ManualClock()
    us = start_node("node-a", "node-b", database_url, web3, dev, clock)
    partner = start_node("node-b", "node-a", database_url_b, web3, dev, clock)
    try:
        befriend(us, partner, [RAIL], THRESHOLD)
        yield web3, us, partner, clock
    finally:
        us.close()
        partner.close()


def pay(payer: TestNode, payee: TestNode, amount: int, tag: str, clock: ManualClock) -> None:
    """The same packet seen from both sides, then the payer settles it over the channel."""
    payer.node.app.record_packets(
        payee.name, USD.code, tag, [PacketEntry(tag, Direction.OUTGOING, amount)]
    )
    payee.node.app.record_packets(
        payer.name, USD.code, tag, [PacketEntry(tag, Direction.INCOMING, amount)]
    )
    payer.node.runner(SettlementMonitor(payer.node.app, clock)).catch_up()
    payer.process.executor.run_until_settled()


def partner_pays_us_twice(nodes: Nodes) -> tuple[UUID, Channel]:
    """Our channel with the partner, holding the partner's second balance proof."""
    _web3, us, partner, clock = nodes
    pay(partner, us, 6_000_000, "p1", clock)
    pay(partner, us, 6_000_000, "p2", clock)
    us.process.sync_chain()
    us.node.catch_up_read_models()
    [row] = us.node.read_side().all_channels()
    channel_id = UUID(str(row["channel_id"]))
    held = us.node.app.channel(channel_id)
    assert held.partner_nonce == 2 and held.partner_transferred > 0
    assert held.onchain_id is not None
    return channel_id, held


def partner_closes_with_a_stale_picture(nodes: Nodes) -> tuple[UUID, Channel]:
    """The partner pays us twice, then closes with no proof of its own on chain."""
    _web3, us, partner, _clock = nodes
    channel_id, held = partner_pays_us_twice(nodes)
    assert held.onchain_id is not None
    theirs = partner.process.rails[RAIL].network
    theirs.execute(theirs.prepare_close(held.onchain_id, None))  # type: ignore[attr-defined]
    us.process.sync_chain()
    assert us.node.app.channel(channel_id).state == ChannelState.CLOSED
    return channel_id, held


def test_a_partner_close_is_contested_and_the_chain_pays_the_off_chain_balance(
    nodes: Nodes,
) -> None:
    web3, us, partner, _clock = nodes
    channel_id, held = partner_closes_with_a_stale_picture(nodes)
    assert held.onchain_id is not None
    rail = us.process.rails[RAIL]
    with pytest.raises(IllegalTransition):  # a closed channel is never paid on again
        us.node.app.channel(channel_id).check_our_proof(held.our_nonce + 1, held.our_transferred)
    assert rail.network.participant(held.onchain_id, partner.signer.address).nonce == 0

    assert us.process.answer_disputes() == 1  # the partner's latest proof goes on chain
    on_chain = rail.network.participant(held.onchain_id, partner.signer.address)
    assert (on_chain.nonce, on_chain.transferred_amount) == (2, held.partner_transferred)
    assert us.process.answer_disputes() == 0  # nothing more to do until the challenge ends

    before = rail.token.balance_of(us.signer.address)
    partner_before = rail.token.balance_of(partner.signer.address)
    advance_time(web3, SETTLE_TIMEOUT + 1)
    assert us.process.answer_disputes() == 1  # settled
    received = rail.token.balance_of(us.signer.address) - before
    off_chain = held.our_deposit - held.our_transferred + held.partner_transferred
    assert received == off_chain
    partner_off_chain = held.partner_deposit - held.partner_transferred + held.our_transferred
    assert rail.token.balance_of(partner.signer.address) - partner_before == partner_off_chain

    channel = us.node.app.channel(channel_id)
    assert channel.state == ChannelState.SETTLED
    [settled] = [e for e in us.node.app.history(channel_id) if isinstance(e, Channel.Settled)]
    assert (settled.our_amount, settled.partner_amount) == (received, partner_off_chain)
    us.process.sync_chain()  # the watcher seeing the same settlement records it once only
    history = [type(e).__name__ for e in us.node.app.history(channel_id)]
    assert history.count("Settled") == 1 and history.count("CloserProofUpdated") == 1
    assert us.process.answer_disputes() == 0


def test_a_contest_recorded_before_a_crash_is_sent_with_its_recorded_bytes(
    nodes: Nodes,
) -> None:
    web3, us, _partner, _clock = nodes
    channel_id, held = partner_closes_with_a_stale_picture(nodes)
    assert held.onchain_id is not None
    rail = us.process.rails[RAIL]
    proof = BalanceProof(held.onchain_id, held.partner_nonce, held.partner_transferred)
    signature = bytes.fromhex(held.partner_signature.removeprefix("0x"))
    signed = rail.network.prepare_update(held.onchain_id, proof, signature)
    purpose = f"update:{held.partner_nonce}"
    us.node.app.record_transaction_signed(channel_id, purpose, signed)
    # The node dies here: recorded, never broadcast. After the restart:
    assert us.process.answer_disputes() == 1
    assert web3.eth.get_transaction_receipt(signed.tx_hash)["status"] == 1  # type: ignore[arg-type]
    recorded = us.node.app.recorded_transactions(channel_id)
    contests = [tx for tx in recorded if tx.purpose == purpose]
    assert len(contests) == 1 and contests[0].succeeded is True
    assert rail.network.participant(held.onchain_id, _partner.signer.address).nonce == 2


def test_closing_ourselves_uses_the_partners_latest_proof_and_pays_the_off_chain_balance(
    nodes: Nodes,
) -> None:
    web3, us, partner, _clock = nodes
    channel_id, held = partner_pays_us_twice(nodes)
    assert held.onchain_id is not None
    rail = us.process.rails[RAIL]
    us.process.disputes.close(channel_id, "operator closed the channel")
    channel = us.node.app.channel(channel_id)
    assert channel.state == ChannelState.CLOSED and not channel.usable
    on_chain = rail.network.participant(held.onchain_id, partner.signer.address)
    assert (on_chain.nonce, on_chain.transferred_amount) == (2, held.partner_transferred)
    assert us.process.answer_disputes() == 0  # our own close: nothing to contest

    before = rail.token.balance_of(us.signer.address)
    advance_time(web3, SETTLE_TIMEOUT + 1)
    assert us.process.answer_disputes() == 1
    received = rail.token.balance_of(us.signer.address) - before
    assert received == held.our_deposit - held.our_transferred + held.partner_transferred
    assert us.node.app.channel(channel_id).state == ChannelState.SETTLED
