"""Each fraud rule driven by real recorded events (through the application's named methods, on a
real database) and the fraud rules follower: the alert or the pause it leads to, and no finding
from normal traffic (the demo's traffic shape)."""

from __future__ import annotations

import random
from collections.abc import Iterator

import eventsourcing.domain
import pytest
from fraud_world import STRANGER, EventClock, World

from bootstrap.node import open_node
from bootstrap.settings import Settings
from domain.peer_account import Direction, PeerAccount


@pytest.fixture
def world(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    clock = EventClock()
    monkeypatch.setattr(eventsourcing.domain, "datetime_now_with_tzinfo", clock)
    with open_node(Settings(database_url=database_url)) as node:
        yield World(node, clock)


def _hours_of_usual_traffic(world: World, peers: list[str], hours: int) -> None:
    for _ in range(hours):
        for peer in peers:
            world.packets(peer, [100] * 10)
        world.clock.advance(hours=1)


def test_a_packet_flood_far_above_the_peers_own_baseline_is_an_alert(world: World) -> None:
    world.open("mallory")
    world.open("steady")
    _hours_of_usual_traffic(world, ["mallory", "steady"], 8)
    assert world.run_rules() == []
    world.packets("mallory", [100] * 150)  # 15 times its usual hour, in one batch
    world.packets("steady", [100] * 10)
    findings = world.run_rules()
    assert [(f["peer"], f["rule"], f["action"]) for f in findings] == [
        ("mallory", "velocity", "alert")
    ]
    assert findings[0]["facts"]["packets"] == 150
    assert findings[0]["facts"]["baseline_packets"] == 10
    suspected = world.suspected("mallory")
    assert [(e.rule, e.action) for e in suspected] == [("velocity", "alert")]
    assert world.node.app.peer_account("mallory", "USD").paused_reason is None
    assert world.counted == [("velocity", "alert")]


def test_a_claim_far_above_the_peers_usual_is_an_alert(world: World) -> None:
    world.open("mallory")
    world.packets("mallory", [1_000_000], Direction.INCOMING)
    channel = world.channel("mallory")
    for _ in range(6):
        world.claim(channel, "mallory", 100)
    assert world.run_rules() == []
    world.claim(channel, "mallory", 50_000)
    findings = world.run_rules()
    assert [(f["rule"], f["facts"]["amount"], f["facts"]["average"]) for f in findings] == [
        ("large_claim", 50_000, 100)
    ]


def test_a_settlement_far_above_the_peers_usual_is_an_alert(world: World) -> None:
    account_id = world.open("mallory")
    for index in range(6):
        world.node.app.request_settlement(f"s{index}", account_id, 1_000, world.clock.now)
    world.node.app.request_settlement("big", account_id, 90_000, world.clock.now)
    findings = world.run_rules()
    assert [(f["rule"], f["facts"]["amount"]) for f in findings] == [("large_settlement", 90_000)]


def test_repeated_stale_claims_pause_the_peer_naming_the_rule(world: World) -> None:
    world.open("mallory")
    world.packets("mallory", [1_000_000], Direction.INCOMING)
    channel = world.channel("mallory")
    world.claim(channel, "mallory", 500)
    world.claim(channel, "mallory", 500)
    for _ in range(3):
        world.clock.advance(minutes=5)
        world.claim(channel, "mallory", 0, stale=True)
    findings = world.run_rules()
    assert [(f["rule"], f["action"], f["facts"]["count"]) for f in findings] == [
        ("stale_claims", "pause", 3)
    ]
    account = world.node.app.peer_account("mallory", "USD")
    assert account.paused_reason is not None and "stale_claims" in account.paused_reason
    paused = [e for e in world.node.app.history(account.id) if isinstance(e, PeerAccount.Paused)]
    assert [e.reason.split(" (")[0] for e in paused] == ["fraud rule stale_claims"]


def test_repeated_rejected_claims_are_an_alert_but_a_paused_peers_refusals_do_not_count(
    world: World,
) -> None:
    account_id = world.open("mallory")
    app = world.node.app
    app.pause(account_id, "operator: checking")
    for n in range(6):  # refused for the pause: not a fault of the claims themselves
        app.record_claim_refused(account_id, f"p{n}", "paused", "account paused")
    assert world.run_rules() == []
    app.resume(account_id)
    for n in range(5):
        world.clock.advance(minutes=5)
        app.record_claim_refused(account_id, f"c{n}", "bad_signature", "proof.signature")
    findings = world.run_rules()
    assert [(f["rule"], f["action"], f["facts"]["count"]) for f in findings] == [
        ("rejected_claims", "alert", 5)
    ]
    assert findings[0]["facts"]["code"] == "bad_signature"
    assert world.node.app.peer_account("mallory", "USD").paused_reason is None


def test_channel_open_close_churn_is_an_alert(world: World) -> None:
    world.open("mallory")
    for _ in range(3):
        world.close(world.channel("mallory"))
        world.clock.advance(hours=1)
    assert world.run_rules() == []
    world.close(world.channel("mallory"))
    findings = world.run_rules()
    assert [(f["rule"], f["facts"]["count"]) for f in findings] == [("channel_churn", 4)]


def test_proofs_from_an_address_the_peer_did_not_register_pause_it(world: World) -> None:
    world.open("mallory")  # registered with PARTNER
    world.packets("mallory", [1_000_000], Direction.INCOMING)
    channel = world.channel("mallory", partner=STRANGER)
    world.claim(channel, "mallory", 100)
    findings = world.run_rules()
    assert [(f["rule"], f["action"], f["facts"]["signer"]) for f in findings] == [
        ("unexpected_signer", "pause", STRANGER)
    ]
    assert world.node.app.peer_account("mallory", "USD").paused_reason is not None


def test_driving_the_receivable_to_the_credit_limit_again_and_again_is_an_alert(
    world: World,
) -> None:
    world.open("mallory", credit_limit=1_000)
    channel = world.channel("mallory")
    for round_ in range(5):
        world.packets("mallory", [960], Direction.INCOMING)
        world.claim(channel, "mallory", 960)
        world.clock.advance(minutes=1)
        if round_ == 3:
            assert world.run_rules() == []
    findings = world.run_rules()
    assert [(f["rule"], f["facts"]["count"]) for f in findings] == [("credit_limit", 5)]


def test_a_finding_is_recorded_once_when_the_follower_applies_its_batch_again(
    world: World,
) -> None:
    world.open("mallory")
    world.packets("mallory", [1_000_000], Direction.INCOMING)
    channel = world.channel("mallory", partner=STRANGER)
    world.claim(channel, "mallory", 100)
    world.run_rules()
    with world.node.pool.connection() as conn:  # as if the tracking row had not advanced
        conn.execute("UPDATE projection_tracking SET position = 0 WHERE projection = 'fraud_rules'")
        conn.execute("DELETE FROM fraud_state")
    world.run_rules()
    assert len(world.suspected("mallory")) == 1


def test_the_operator_lifts_a_rule_s_pause_and_the_resume_records_who(world: World) -> None:
    account_id = world.open("mallory")
    world.packets("mallory", [1_000_000], Direction.INCOMING)
    world.claim(world.channel("mallory", partner=STRANGER), "mallory", 100)
    world.run_rules()
    world.node.app.resume_peer_account(account_id, "cli:ops-alice")
    assert world.node.app.peer_account("mallory", "USD").paused_reason is None
    resumed = [e for e in world.node.app.history(account_id) if isinstance(e, PeerAccount.Resumed)]
    assert [e.resumed_by for e in resumed] == ["cli:ops-alice"]


def test_the_demo_traffic_shape_triggers_no_rule(world: World) -> None:
    """The demo's streams (five peers, batches of 1,000..9,000 per packet, seed 7), spread over
    a day, with settlements and claims of the demo's size: nothing is found."""
    peers = ["alice", "bob", "carol", "dave", "erin"]
    rng = random.Random(7)
    channels = {}
    for peer in peers:
        world.open(peer, credit_limit=10**15)
        channels[peer] = world.channel(peer)
    for hour in range(24):
        for peer in peers:
            world.packets(peer, [rng.randint(1_000, 9_000) for _ in range(20)])
            world.packets(peer, [rng.randint(1_000, 9_000) for _ in range(20)], Direction.INCOMING)
            if hour % 3 == 0:
                account_id = PeerAccount.create_id(peer, "USD")
                world.node.app.request_settlement(
                    f"{peer}-{hour}", account_id, rng.randint(90_000, 110_000), world.clock.now
                )
                world.claim(channels[peer], peer, rng.randint(50_000, 90_000))
        world.clock.advance(hours=1)
    assert world.run_rules() == []
