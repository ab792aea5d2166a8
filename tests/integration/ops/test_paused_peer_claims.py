"""A fraud rule's pause refuses the peer's claims: two nodes on one chain (eth-tester), each its
own embedded database; node B's fraud rule pauses node A, and A's next claim, delivered over
B's claims route, is refused `paused` with the pause's reason in the answer, a warning naming
the rule and the refusal counted on B's metrics; nothing of it is credited. A claim credited
before the pause still gets its receipt. Once an operator resumes A, the refused claim is
taken when sent again.

The refusal records no domain event (the domain is being split elsewhere; the event is left for
that merge): the answer, the log line and the metric are its record.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from functools import partial

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from adapters.evm.chains import start_eth_tester
from adapters.metrics.definitions import NodeMetrics
from adapters.metrics.edges import count_claim_refusal
from application.clock import ManualClock
from application.fraud import Rule
from application.processes.settlement_monitor import SettlementMonitor
from devtools.dev_chain import deploy_rails
from domain.channel import Channel
from domain.peer_account import Direction, PacketEntry, PeerAccount
from domain.settlement import SettlementStatus
from tests.support.two_nodes import USD, TestNode, befriend, start_node

THRESHOLD = 5_000_000  # 5 USD at scale 6


@pytest.fixture
def nodes(database_url: str, database_url_b: str) -> Iterator[tuple[TestNode, TestNode]]:
    web3 = start_eth_tester()
    dev = deploy_rails(web3, ["local-a"], token_decimals=18)
    clock = ManualClock()
    a = start_node("node-a", "node-b", database_url, web3, dev, clock)
    b = start_node("node-b", "node-a", database_url_b, web3, dev, clock)
    try:
        befriend(a, b, ["local-a"], THRESHOLD)
        yield a, b
    finally:
        a.close()
        b.close()


def _record(a: TestNode, b: TestNode, tag: str) -> None:
    """Packets over the threshold, seen from both sides."""
    amounts = [3_000_000, 3_000_000]
    a.node.app.record_packets(
        b.name, USD.code, tag,
        [PacketEntry(f"{tag}-{i}", Direction.OUTGOING, x) for i, x in enumerate(amounts)],
    )  # fmt: skip
    b.node.app.record_packets(
        a.name, USD.code, tag,
        [PacketEntry(f"{tag}-{i}", Direction.INCOMING, x) for i, x in enumerate(amounts)],
    )  # fmt: skip


def _settle(a: TestNode) -> dict[str, object]:
    """A's executor settles what is due (or tries to); the one settlement this requested."""
    a.node.catch_up_read_models()
    before = {row["settlement_id"] for row in a.node.read_side().all_settlements()}
    a.node.runner(SettlementMonitor(a.node.app, ManualClock())).catch_up()
    a.process.executor.run_until_settled()
    a.node.catch_up_read_models()
    [new] = [r for r in a.node.read_side().all_settlements() if r["settlement_id"] not in before]
    return dict(new)


def _refused(metrics: NodeMetrics) -> dict[tuple[str, str], float]:
    text = generate_latest(metrics.registry).decode()
    return {
        (s.labels["code"], s.labels["pause_cause"]): s.value
        for family in text_string_to_metric_families(text)
        if family.name == "settle_claims_refused"
        for s in family.samples
        if s.name == "settle_claims_refused_total"
    }


def test_a_fraud_rule_pause_refuses_the_peer_s_claims_until_resumed(
    nodes: tuple[TestNode, TestNode], caplog: pytest.LogCaptureFixture
) -> None:
    a, b = nodes
    metrics = NodeMetrics()
    b.process.receiver.on_refused = partial(count_claim_refusal, metrics)  # as `settle run` does
    _record(a, b, "before-pause")
    first = _settle(a)
    assert first["status"] == SettlementStatus.COMPLETED.value
    account_at_b = PeerAccount.create_id(a.name, USD.code)
    credited = b.node.app.credited_claims(account_at_b)
    assert len(credited) == 1

    # The traffic is recorded, then a rule's finding pauses A before A's claim for it arrives
    # (a paused account records no packets either).
    _record(a, b, "after-pause")
    finding = f"{Rule.UNEXPECTED_SIGNER}-1"
    assert b.node.app.record_fraud_finding(
        account_at_b, finding, Rule.UNEXPECTED_SIGNER, {"address": "0x" + "99" * 20}, pause=True
    )
    caplog.set_level(logging.WARNING, logger="application.claim_refusals")
    second = _settle(a)

    assert second["status"] != SettlementStatus.COMPLETED.value
    # Nothing of the refused claim credited.
    assert b.node.app.credited_claims(account_at_b) == credited
    assert _refused(metrics) == {("paused", Rule.UNEXPECTED_SIGNER.value): 1.0}
    [warning] = [r for r in caplog.records if r.getMessage() == "claim refused: the peer is paused"]
    assert warning.__dict__["pause_cause"] == Rule.UNEXPECTED_SIGNER.value
    assert finding in warning.__dict__["pause_reason"]
    assert warning.__dict__["peer"] == a.name
    # ...and recorded on A's account at B, once: the code and why, for audit and the rules.
    [refused] = [
        e for e in b.node.app.history(account_at_b) if isinstance(e, PeerAccount.ClaimRefused)
    ]
    assert refused.code == "paused" and f"fraud rule {Rule.UNEXPECTED_SIGNER}" in refused.detail

    # The answer A got: the code and the pause's reason, on the settlement's failure.
    settlement = a.node.app.settlement(second["settlement_id"])  # type: ignore[arg-type]
    failure = " ".join(str(value) for value in vars(settlement).values())
    assert "paused" in failure and f"fraud rule {Rule.UNEXPECTED_SIGNER}" in failure

    # A claim credited before the pause is answered with its receipt, not refused.
    [first_claim] = list(credited)
    completed = a.node.app.settlement(first["settlement_id"])  # type: ignore[arg-type]
    assert completed.channel_id is not None
    channel = a.node.app.load(completed.channel_id, Channel)
    a_account = a.node.app.peer_account(b.name, USD.code)
    again = b.process.receiver.handle(a.process.delivery.claim_for(a_account, completed, channel))
    assert again.accepted and again.duplicate
    assert again.receipt == f"{b.name}:{first_claim}"
    assert _refused(metrics) == {("paused", Rule.UNEXPECTED_SIGNER.value): 1.0}

    # Resumed, B takes the very claim it refused (A sends it again, e.g. `settle dlq retry`).
    b.node.app.resume_peer_account(account_at_b, "ops:test")
    refused_claim = a.process.delivery.claim_for(a_account, settlement, channel)
    taken = b.process.receiver.handle(refused_claim)
    assert taken.accepted and not taken.duplicate, taken
    assert len(b.node.app.credited_claims(account_at_b)) == 2
