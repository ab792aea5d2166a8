"""Failure paths on real components — two nodes, the in-process chain, HTTP claims — with
faults injected only at the adapter edge where the world cannot be made to fail on cue."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from web3 import Web3

from adapters.evm.balance_proof import BalanceProof
from adapters.evm.chains import advance_time, start_eth_tester
from adapters.evm.errors import RpcUnavailable
from application.clock import ManualClock
from application.dead_letters import dead_letters, retry_dead_letter
from application.processes.settlement_monitor import SettlementMonitor
from application.rails.circuit_breaker import BreakerState
from devtools.dev_chain import DevelopmentRails, deploy_rails
from domain.channel import Channel
from entrypoints.http.claims_server import ClaimServer
from tests.support.two_nodes import TOKEN, USD, TestNode, befriend, start_node

THRESHOLD = 5_000_000


class FaultyRail:
    """The channel port with faults on cue: RpcUnavailable while a rail is marked down."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.down: set[str] = set()
        self.faults: list[Exception] = []

    def ensure_channel(
        self, account: Any, rail: str, amount: int, at: Any, *, may_send: bool = True
    ) -> Any:
        if self.faults:
            raise self.faults.pop(0)
        if rail in self.down:
            raise RpcUnavailable(rail, "connection timed out")
        return self.real.ensure_channel(account, rail, amount, at, may_send=may_send)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.fixture
def chain() -> tuple[Web3, DevelopmentRails]:
    web3 = start_eth_tester()
    return web3, deploy_rails(web3, ["local-a", "local-b"], costs=[100, 120])


CHALLENGE = 3600


def pair(
    chain: tuple[Web3, DevelopmentRails],
    url_a: str,
    url_b: str,
    rail_names: tuple[str, ...] = ("local-a", "local-b"),
    **a_options: Any,
) -> tuple[TestNode, TestNode, ManualClock]:
    web3, dev = chain
    clock = ManualClock()
    a = start_node("node-a", "node-b", url_a, web3, dev, clock, **a_options)
    b = start_node("node-b", "node-a", url_b, web3, dev, clock)
    befriend(a, b, list(rail_names), THRESHOLD)
    return a, b, clock


@pytest.fixture
def nodes(
    chain: tuple[Web3, DevelopmentRails], database_url: str, database_url_b: str
) -> Iterator[tuple[TestNode, TestNode, ManualClock]]:
    a, b, clock = pair(chain, database_url, database_url_b)
    yield a, b, clock
    a.close()
    b.close()


def owe(a: TestNode, b: TestNode, amount: int, tag: str) -> None:
    from domain.peer_account import Direction, PacketEntry

    a.node.app.record_packets(b.name, USD.code, tag, [PacketEntry(tag, Direction.OUTGOING, amount)])
    b.node.app.record_packets(a.name, USD.code, tag, [PacketEntry(tag, Direction.INCOMING, amount)])


def settle(a: TestNode, clock: ManualClock) -> list[dict[str, Any]]:
    monitor = a.node.runner(SettlementMonitor(a.node.app, clock))
    for _ in range(20):
        monitor.catch_up()
        a.process.executor.run_until_settled()
        clock.advance(timedelta(seconds=1))
        if not a.process.executor.due_settlements():
            break
    a.node.catch_up_read_models()
    return a.node.read_side().all_settlements()


def events(node: TestNode, aggregate_id: Any) -> list[str]:
    return [type(e).__name__ for e in node.node.app.history(aggregate_id)]


def test_rpc_timeouts_then_success(nodes: tuple[TestNode, TestNode, ManualClock]) -> None:
    a, b, clock = nodes
    faulty = FaultyRail(a.process.channels)
    faulty.faults = [RpcUnavailable("rpc", "timed out"), RpcUnavailable("rpc", "timed out")]
    a.process.steps.channels = faulty
    owe(a, b, 6_000_000, "p1")
    [done] = settle(a, clock)
    assert done["status"] == "completed" and done["attempts"] == 2
    assert events(a, done["settlement_id"]).count("AttemptFailed") == 2


def test_insufficient_funds_fails_at_once_with_an_alert(
    chain: tuple[Web3, DevelopmentRails], database_url: str, database_url_b: str
) -> None:
    a, b, clock = pair(chain, database_url, database_url_b, funded=False)  # no gas, no tokens
    try:
        owe(a, b, 6_000_000, "p1")
        [failed] = settle(a, clock)
        assert failed["status"] == "failed"
        last = a.node.app.history(failed["settlement_id"])[-1]
        assert type(last).__name__ == "Failed" and last.alert is True
        assert last.error_class == "InsufficientFunds"
        [row] = a.node.read_side().all_balances()
        assert (row["payable"], row["in_flight"]) == (6_000_000, 0)  # released, owed still
    finally:
        a.close()
        b.close()


@pytest.fixture
def one_rail_nodes(
    chain: tuple[Web3, DevelopmentRails], database_url: str, database_url_b: str
) -> Iterator[tuple[TestNode, TestNode, ManualClock]]:
    # A challenge period far longer than the test: the in-process chain's clock follows the
    # wall clock, and a short one could run out under load before the test looks.
    a, b, clock = pair(
        chain, database_url, database_url_b, ("local-a",), settle_timeout_seconds=CHALLENGE
    )
    yield a, b, clock
    a.close()
    b.close()


def test_channel_closed_under_us_is_forgotten_and_a_new_one_opened(
    one_rail_nodes: tuple[TestNode, TestNode, ManualClock], chain: tuple[Web3, DevelopmentRails]
) -> None:
    a, b, clock = one_rail_nodes
    owe(a, b, 6_000_000, "p1")
    [first] = settle(a, clock)
    assert first["status"] == "completed"
    # B closes the channel on chain with A's latest proof.
    b.process.sync_chain()
    channel_id = a.node.app.settlement(first["settlement_id"]).channel_id
    assert channel_id is not None
    ours = a.node.app.load(channel_id, Channel)
    rail = b.process.rails["local-a"]
    proof = BalanceProof(ours.onchain_id or 0, ours.our_nonce, ours.our_transferred)
    signature = bytes.fromhex(ours.our_signature.removeprefix("0x"))
    rail.network.execute(rail.network.prepare_close(proof.channel_id, proof, signature))
    a.process.sync_chain()
    assert a.node.app.load(channel_id, Channel).state == "closed"

    # The closed channel holds the pair on chain until its challenge period is over: the next
    # settlement waits (patiently), A settles the old channel on chain and opens a new one.
    owe(a, b, 6_000_000, "p2")
    waiting = [s for s in settle(a, clock) if s["settlement_id"] != first["settlement_id"]]
    assert [s["status"] for s in waiting] == ["requested"], [w["last_error"] for w in waiting]
    assert "after" in (waiting[0]["last_error"] or "")
    advance_time(chain[0], CHALLENGE + 60)  # past the challenge period
    clock.advance(timedelta(minutes=1))
    second = [s for s in settle(a, clock) if s["settlement_id"] != first["settlement_id"]]
    assert [s["status"] for s in second] == ["completed"]
    second_channel = a.node.app.settlement(second[0]["settlement_id"]).channel_id
    assert second_channel not in (None, channel_id)
    b.node.catch_up_read_models()
    a.node.catch_up_read_models()
    [b_view] = b.node.read_side().all_balances()
    [a_view] = a.node.read_side().all_balances()
    assert b_view["receivable"] == a_view["payable"]


def test_exhausted_retries_dead_letter_then_retry_redelivers_the_same_claim(
    nodes: tuple[TestNode, TestNode, ManualClock],
) -> None:
    a, b, clock = nodes
    server = b.process.server
    assert server is not None
    port = int(server.url.rsplit(":", 1)[1])
    server.stop()  # the peer's node is down: delivery is refused, retryable
    owe(a, b, 6_000_000, "p1")
    [dead] = settle(a, clock)
    assert dead["status"] == "dead_lettered" and "3 attempts exhausted" in dead["last_error"]
    history = events(a, dead["settlement_id"])
    assert history.count("AttemptFailed") == 2 and history[-1] == "DeadLettered"
    assert [d["settlement_id"] for d in dead_letters(a.node.read_side())] == [dead["settlement_id"]]
    [row] = a.node.read_side().all_balances()
    assert row["in_flight"] == 5_000_000  # a signed proof is out: never released

    b.process.server = ClaimServer(b.process.receiver, {"node-a": TOKEN}, port=port)
    b.process.server.start()
    carried = retry_dead_letter(a.node.app, dead["settlement_id"], clock, a.process.delivery)
    assert carried == dead["settlement_id"]
    a.node.catch_up_read_models()
    assert dead_letters(a.node.read_side()) == []
    [row] = a.node.read_side().all_balances()
    assert row["in_flight"] == 0
    account_at_b = b.node.app.peer_account("node-a", USD.code).id
    assert list(b.node.app.credited_claims(account_at_b).values()) == [5_000_000]


def test_circuit_breaker_opens_on_failures_and_closes_after_a_good_probe(
    chain: tuple[Web3, DevelopmentRails], database_url: str, database_url_b: str
) -> None:
    # Ranked on cost alone, so the failing cheaper rail keeps being tried until its breaker opens
    # (with the default weights its falling success rate would already rank it last).
    policy = {
        "window": 10,
        "min_outcomes": 2,
        "cooldown_seconds": 60,
        "weights": {"cost": 1.0, "latency": 0.0, "success": 0.0},
    }
    a, b, clock = pair(chain, database_url, database_url_b, rails=policy)
    try:
        coordinator = a.process.coordinator
        faulty = FaultyRail(a.process.channels)
        a.process.steps.channels = faulty
        faulty.down = {"local-a"}  # the cheaper, preferred rail is failing
        for round_ in range(3):
            owe(a, b, 6_000_000, f"down-{round_}")
            settle(a, clock)
        rows = a.node.read_side().all_settlements()
        assert all(r["status"] == "completed" and r["rail"] == "local-b" for r in rows)
        assert coordinator.breaker_state("local-a") is BreakerState.OPEN
        decisions = [
            e.decision
            for r in rows
            for e in a.node.app.history(r["settlement_id"])
            if type(e).__name__ == "RailChosen"
        ]
        assert any(d["skipped"].get("local-a") == "circuit open" for d in decisions)

        faulty.down = set()  # it recovers; after the cool-down one probe may try it
        clock.advance(timedelta(seconds=61))
        owe(a, b, 6_000_000, "up")
        latest = settle(a, clock)[-1]
        assert latest["status"] == "completed" and latest["rail"] == "local-a"
        assert coordinator.breaker_state("local-a") is BreakerState.CLOSED
    finally:
        a.close()
        b.close()


def test_on_chain_mode_settles_each_channel_cooperatively(
    chain: tuple[Web3, DevelopmentRails], database_url: str, database_url_b: str
) -> None:
    """With SETTLE_SETTLEMENT__ONCHAIN_MODE=cooperative the claim carries signed final balances,
    the payee signs them back, and one cooperativeSettle pays both sides; the next settlement
    opens a new channel."""
    a, b, clock = pair(chain, database_url, database_url_b, ("local-a",))
    a.process.steps.onchain_mode = "cooperative"
    try:
        rail = b.process.rails["local-a"]
        before = rail.token.balance_of(b.signer.address)
        paid = 0
        for round_ in range(2):
            owe(a, b, 6_000_000, f"coop-{round_}")
            latest = settle(a, clock)[-1]
            assert latest["status"] == "completed"
            paid += int(latest["amount"])
        settlements = a.node.read_side().all_settlements()
        channels = {a.node.app.settlement(s["settlement_id"]).channel_id for s in settlements}
        assert len(channels) == 2  # each settlement ended its channel; the next opened anew
        for channel_id in channels:
            assert channel_id is not None
            assert a.node.app.load(channel_id, Channel).state == "settled"
            names = events(a, channel_id)
            assert names.count("TransactionSigned") == names.count("TransactionConfirmed")
        # Exactly what was paid reached B's key on chain (B deposited nothing of its own).
        assert rail.token.balance_of(b.signer.address) - before == paid * 10**12
        b.node.catch_up_read_models()
        a.node.catch_up_read_models()
        [b_view] = b.node.read_side().all_balances()
        [a_view] = a.node.read_side().all_balances()
        assert b_view["receivable"] == a_view["payable"]
        assert all(s["tx_hash"] for s in settlements)  # the on-chain settlement, recorded
    finally:
        a.close()
        b.close()
