"""Two nodes settle through a channel on the in-process chain: both books agree to the unit,
and the receiving node can close on chain with the payer's latest proof and collect it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from web3 import Web3

from adapters.evm.balance_proof import BalanceProof
from adapters.evm.chains import advance_time, start_eth_tester
from application.clock import ManualClock
from application.processes.settlement_monitor import SettlementMonitor
from devtools.dev_chain import DevelopmentRails, deploy_rails
from domain.channel import Channel
from domain.peer_account import Direction, PacketEntry
from domain.settlement import SettlementStatus
from tests.support.two_nodes import (
    TOKEN_DECIMALS,
    USD,
    TestNode,
    befriend,
    ledger_agrees_with_read_model,
    start_node,
)

THRESHOLD = 5_000_000  # 5 USD at scale 6


@pytest.fixture
def chain() -> tuple[Web3, DevelopmentRails]:
    web3 = start_eth_tester()
    return web3, deploy_rails(web3, ["local-a", "local-b"], token_decimals=TOKEN_DECIMALS)


@pytest.fixture
def nodes(
    chain: tuple[Web3, DevelopmentRails], database_url: str, database_url_b: str
) -> Iterator[tuple[TestNode, TestNode, ManualClock]]:
    web3, dev = chain
    clock = ManualClock()
    a = start_node("node-a", "node-b", database_url, web3, dev, clock)
    b = start_node("node-b", "node-a", database_url_b, web3, dev, clock)
    try:
        befriend(a, b, ["local-a", "local-b"], THRESHOLD)
        yield a, b, clock
    finally:
        a.close()
        b.close()


def record_traffic(a: TestNode, b: TestNode, amounts: list[int], tag: str) -> None:
    """The same packets, seen from both sides: outgoing at A, incoming at B."""
    out = [PacketEntry(f"{tag}-{i}", Direction.OUTGOING, amt) for i, amt in enumerate(amounts)]
    inc = [PacketEntry(f"{tag}-{i}", Direction.INCOMING, amt) for i, amt in enumerate(amounts)]
    a.node.app.record_packets(b.name, USD.code, tag, out)
    b.node.app.record_packets(a.name, USD.code, tag, inc)


def test_two_nodes_settle_and_the_payee_collects_on_chain(
    nodes: tuple[TestNode, TestNode, ManualClock], chain: tuple[Web3, DevelopmentRails]
) -> None:
    a, b, clock = nodes
    web3, _dev = chain
    # Registration provisions a channel with an initial deposit (3 thresholds).
    a.node.runner(a.process.provisioner).catch_up()
    record_traffic(a, b, [1_500_000] * 4, "batch-1")  # 6 USD: past the threshold
    a.node.runner(SettlementMonitor(a.node.app, clock)).catch_up()
    a.process.executor.run_until_settled()

    [settlement] = a.node.read_side().all_settlements()
    assert settlement["status"] == SettlementStatus.COMPLETED.value
    assert settlement["amount"] == 6_000_000 - THRESHOLD // 5
    paid = int(settlement["amount"])
    a.node.catch_up_read_models()
    b.node.catch_up_read_models()
    [a_view] = a.node.read_side().all_balances()
    [b_view] = b.node.read_side().all_balances()
    assert (a_view["payable"], a_view["in_flight"]) == (6_000_000 - paid, 0)
    assert b_view["receivable"] == 6_000_000 - paid
    assert a_view["payable"] == b_view["receivable"]  # both books agree to the unit
    assert ledger_agrees_with_read_model(a.node) and ledger_agrees_with_read_model(b.node)

    # B closes on chain with A's latest proof and, after the challenge period, collects it.
    rail = b.process.rails["local-a"]
    b.process.sync_chain()
    channel_id = b.process.directory.by_onchain_id(
        rail.chain_id, rail.token_network, a_channel_onchain_id(a)
    )
    assert channel_id is not None
    channel = b.node.app.channel(channel_id)
    proof = BalanceProof(
        channel.onchain_id or 0, channel.partner_nonce, channel.partner_transferred
    )
    assert channel.partner_transferred == paid * 10 ** (TOKEN_DECIMALS - USD.scale)
    before = rail.token.balance_of(b.signer.address)
    rail.network.execute(
        rail.network.prepare_close(
            proof.channel_id, proof, bytes.fromhex(channel.partner_signature.removeprefix("0x"))
        )
    )
    advance_time(web3, 60)
    rail.network.execute(rail.network.prepare_settle(proof.channel_id))
    received = rail.token.balance_of(b.signer.address) - before
    assert received == paid * 10 ** (TOKEN_DECIMALS - USD.scale)
    b.process.sync_chain()
    assert b.node.app.channel(channel_id).state == "settled"


def a_channel_onchain_id(a: TestNode) -> int:
    a.node.catch_up_read_models()
    [row] = a.node.read_side().all_channels()
    return int(row["onchain_id"])


def test_a_replayed_claim_is_a_duplicate_and_an_older_one_a_suspected_double_spend(
    nodes: tuple[TestNode, TestNode, ManualClock],
) -> None:
    a, b, clock = nodes
    monitor = a.node.runner(SettlementMonitor(a.node.app, clock))
    a.node.runner(a.process.provisioner).catch_up()
    for round_ in range(2):
        record_traffic(a, b, [3_000_000, 3_000_000], f"batch-{round_}")
        monitor.catch_up()
        a.process.executor.run_until_settled()
        clock.advance(timedelta(seconds=1))  # the pages order by request time, then by id
    first, second = a.node.read_side().all_settlements()
    assert first["status"] == second["status"] == SettlementStatus.COMPLETED.value
    settlement = a.node.app.settlement(first["settlement_id"])
    assert settlement.channel_id is not None and settlement.nonce == 1
    channel = a.node.app.load(settlement.channel_id, Channel)
    account = a.node.app.peer_account(b.name, USD.code)
    original = a.process.delivery.claim_for(account, settlement, channel)

    again = b.process.receiver.handle(original)
    assert again.accepted and again.duplicate  # the same claim: credited once only

    older = original.model_copy(update={"claim_id": "the-first-proof-again"})
    outcome = b.process.receiver.handle(older)
    assert not outcome.accepted and outcome.error == "stale_proof"
    b_channel = b.process.directory.by_onchain_id(
        channel.chain_id, channel.token_network, channel.onchain_id or 0
    )
    assert b_channel is not None
    history = [type(e).__name__ for e in b.node.app.history(b_channel)]
    assert history.count("PartnerBalanceProofAccepted") == 2
    assert history.count("SuspectedDoubleSpend") == 1
    paused = b.node.app.peer_account(a.name, USD.code)
    assert paused.paused_reason is not None and "double spend" in paused.paused_reason
    b.node.catch_up_read_models()
    [b_view] = b.node.read_side().all_balances()
    a.node.catch_up_read_models()
    [a_view] = a.node.read_side().all_balances()
    assert b_view["receivable"] == a_view["payable"]  # the stale claim credited nothing
