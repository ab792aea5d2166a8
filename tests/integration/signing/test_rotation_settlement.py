"""Key rotation on Anvil, end to end: node A settles on a channel of its first key K1, its key
ring rotates to K2 and the settlement process is built again with both keys (as `settle run`
loads them). The next settlement opens a channel with K2 (a new pair on the TokenNetwork) whose
proof B credits, recovered to K2; the K1 channel keeps K1: when B closes it with a stale picture,
A's dispute pass contests from K1 (the contract accepts only the non-closing participant) and
settles it after the challenge period."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest
from eth_account import Account
from web3 import Web3

from adapters.evm.chains import advance_time, connect_rpc
from adapters.signing.local_key import LocalKeySigner
from adapters.signing.node_keys import load_node_keys
from application.clock import ManualClock
from application.processes.settlement_monitor import SettlementMonitor
from devtools.dev_chain import DevelopmentRails, deploy_rails
from domain.address import Address
from domain.balance_proof import BalanceProof
from domain.channel import Channel, ChannelState
from domain.peer_account import Direction, PacketEntry, PeerAccount
from domain.settlement import SettlementStatus
from entrypoints.cli import main
from projections.key_needs import channels_needing_keys
from tests.support.two_nodes import (
    TOKEN_DECIMALS,
    USD,
    TestNode,
    befriend,
    restart_with_keys,
    start_node,
)

THRESHOLD = 5_000_000  # 5 USD at scale 6
SETTLE_TIMEOUT = 20  # start_node's chain settings
RAIL = "anvil-rotation"
KEY_1, KEY_2 = "0x" + "c3" * 32, "0x" + "d4" * 32
K1, K2 = Account.from_key(KEY_1).address, Account.from_key(KEY_2).address


@pytest.fixture
def chain(anvil_url: str) -> tuple[Web3, DevelopmentRails]:
    web3 = connect_rpc(anvil_url, 10)
    return web3, deploy_rails(web3, [RAIL], token_decimals=TOKEN_DECIMALS, rpc_url=anvil_url)


@pytest.fixture
def nodes(
    chain: tuple[Web3, DevelopmentRails],
    database_url: str,
    database_url_b: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[list[TestNode]]:
    """[A, B]: A's key ring starts with K1 (`settle keys rotate env:KEY_1` on A's database)."""
    web3, dev = chain
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("KEY_1", KEY_1)
    monkeypatch.setenv("KEY_2", KEY_2)
    assert main(["keys", "rotate", "env:KEY_1"]) == 0
    clock = ManualClock()
    a = start_node(
        "node-a",
        "node-b",
        database_url,
        web3,
        dev,
        clock,
        signer=LocalKeySigner(Account.from_key(KEY_1)),
    )
    b = start_node("node-b", "node-a", database_url_b, web3, dev, clock)
    started = [a, b]
    try:
        befriend(a, b, [RAIL], THRESHOLD)
        yield started
    finally:
        for node in started:
            node.close()


def pay(payer: TestNode, payee: TestNode, amount: int, tag: str) -> None:
    """The same packet seen from both sides, then the payer settles it over a channel."""
    payer.node.app.record_packets(
        payee.name, USD.code, tag, [PacketEntry(tag, Direction.OUTGOING, amount)]
    )
    payee.node.app.record_packets(
        payer.name, USD.code, tag, [PacketEntry(tag, Direction.INCOMING, amount)]
    )
    payer.node.runner(SettlementMonitor(payer.node.app, ManualClock())).catch_up()
    payer.process.executor.run_until_settled()


def channels_of(node: TestNode) -> dict[str, Channel]:
    """The node's channels by our address (one per key here)."""
    node.node.catch_up_read_models()
    found = [node.node.app.channel(UUID(str(r["channel_id"]))) for r in _rows(node)]
    return {str(Address(c.our_address)): c for c in found}


def _rows(node: TestNode) -> list[dict[str, object]]:
    return list(node.node.read_side().all_channels())


def test_after_a_rotation_new_payments_use_the_new_key_and_the_old_channel_keeps_the_old(
    nodes: list[TestNode], chain: tuple[Web3, DevelopmentRails]
) -> None:
    a, b = nodes
    web3, dev = chain
    # K1's channel: A pays B twice (A's proofs 1 and 2), B pays A once (B's proof 1).
    pay(a, b, 6_000_000, "a1")
    stale = channels_of(a)[str(Address(K1))]
    assert (stale.our_nonce, Address(stale.our_address)) == (1, Address(K1))
    pay(a, b, 6_000_000, "a2")
    pay(b, a, 6_000_000, "b1")
    a.process.sync_chain()
    old = channels_of(a)[str(Address(K1))]
    assert (old.our_nonce, old.partner_nonce) == (2, 1) and old.onchain_id is not None

    # `settle keys rotate env:KEY_2`, then A starts again with both keys, as `settle run` does.
    assert main(["keys", "rotate", "env:KEY_2"]) == 0
    a.node.catch_up_read_models()
    keys = load_node_keys(a.node.app, channels_needing_keys(a.node.pool), a.node.settings.chain)
    assert (keys.for_new_channels().address, keys.addresses()) == (K2, sorted(
        str(Address(k)) for k in (K1, K2)
    ))  # fmt: skip
    a = nodes[0] = restart_with_keys(a, "node-b", keys, web3, dev, ManualClock())
    # B learns A's new address (a new channel will come from it).
    b.node.app.register_peer(a.name, USD.code, K2, [RAIL], RAIL, a.claims_url)

    # The next settlement opens a channel with K2 and B credits the proof K2 signed.
    receivable_before = _receivable(b, a.name)
    pay(a, b, 6_000_000, "a3")
    a.node.catch_up_read_models()
    latest = max(a.node.read_side().all_settlements(), key=lambda s: str(s["requested_at"]))
    assert latest["status"] == SettlementStatus.COMPLETED.value
    new = channels_of(a)[str(Address(K2))]
    assert new.onchain_id not in (None, old.onchain_id) and new.our_nonce == 1
    b.process.sync_chain()
    b.node.catch_up_read_models()
    at_b = {
        c.onchain_id: c for c in (b.node.app.channel(UUID(str(r["channel_id"]))) for r in _rows(b))
    }
    assert Address(at_b[new.onchain_id or 0].partner_address) == Address(K2)
    assert at_b[new.onchain_id or 0].partner_nonce == 1  # B verified K2's signature
    assert _receivable(b, a.name) == receivable_before + 6_000_000 - int(latest["amount"])
    # The K1 channel was not paid on again.
    assert a.node.app.channel(old.id).our_nonce == 2

    # B closes the K1 channel with A's stale proof 1 and none of its own on chain.
    rail_b = b.process.rails[RAIL]
    proof = BalanceProof(old.onchain_id, stale.our_nonce, stale.our_transferred)
    signature = bytes.fromhex(stale.our_signature.removeprefix("0x"))
    rail_b.network.execute(rail_b.network.prepare_close(old.onchain_id, proof, signature))
    a.process.sync_chain()
    assert a.node.app.channel(old.id).state == ChannelState.CLOSED

    # A's dispute pass contests from K1 with B's latest proof; the contract accepts it.
    assert a.process.answer_disputes() == 1
    rail_a = a.process.rails.of_channel(a.node.app.channel(old.id))
    assert Address(str(rail_a.network.our_address)) == Address(K1)
    on_chain_b = rail_a.network.participant(old.onchain_id, b.signer.address)
    assert (on_chain_b.nonce, on_chain_b.transferred_amount) == (1, old.partner_transferred)
    senders = {tx["purpose"]: tx["sender"] for tx in _transactions(a, old.id)}
    assert Address(senders["update:1"]) == Address(K1)

    # After the challenge period A settles it; the chain paid by the proofs it recorded.
    advance_time(web3, SETTLE_TIMEOUT + 1)
    before = rail_a.token.balance_of(K1)
    assert a.process.answer_disputes() == 1
    assert a.node.app.channel(old.id).state == ChannelState.SETTLED
    on_chain_a = rail_a.network.participant(old.onchain_id, K1)
    assert (on_chain_a.nonce, on_chain_a.transferred_amount) == (1, stale.our_transferred)
    received = rail_a.token.balance_of(K1) - before
    assert received == old.our_deposit - stale.our_transferred + old.partner_transferred


def _receivable(node: TestNode, peer: str) -> int:
    account = node.node.app.load(PeerAccount.create_id(peer, USD.code), PeerAccount)
    return int(account.receivable)


def _transactions(node: TestNode, channel_id: UUID) -> list[dict[str, object]]:
    return [tx.as_recorded() for tx in node.node.app.recorded_transactions(channel_id)]
