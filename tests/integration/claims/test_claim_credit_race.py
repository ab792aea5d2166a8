"""Claims racing on one channel through two applications on one PostgreSQL store (two nodes'
worth of writers): optimistic concurrency makes each claim's credit be decided on the state the
others left, so the total credited always equals the channel's increase — never more."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError

from application.app import SettlementApp
from application.claims_credit import CreditVerdict, PartnerClaim
from bootstrap.node import Node, open_node
from bootstrap.settings import Settings
from domain.channel import Channel
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry, PeerAccount

OURS = "0x00000000000000000000000000000000000000aa"
THEIRS = "0x00000000000000000000000000000000000000bb"
UNIT = 10**12
ROUNDS = 25


@pytest.fixture
def nodes(database_url: str) -> Iterator[tuple[Node, Node]]:
    first = open_node(Settings(database_url=database_url, node_id="node-b"))
    second = open_node(Settings(database_url=database_url, node_id="node-b"), migrate=False)
    try:
        yield first, second
    finally:
        second.close()
        first.close()


def seed(app: SettlementApp) -> tuple[Channel, PeerAccount]:
    """A channel the partner deposited into and an account it owes, saved as one would be."""
    channel = Channel.request_open(
        "race", "alice", "USD", 31337, "0x" + "ab" * 20, OURS, THEIRS, 500, 18, 6
    )
    channel.observe_opened(7, "0xa1", 0)
    channel.observe_deposit(THEIRS, 10**9 * UNIT, "0xa3", 1)
    account = PeerAccount.open("alice", Asset("USD", 6), 10**9, 10**8, 10**12)
    account.record_packets("b1", [PacketEntry("p1", Direction.INCOMING, 10**9)])
    app.create(channel)
    app.create(account)
    return channel, account


def racing_claims(
    rng: random.Random, round_: int, nonce: int, transferred: int
) -> list[PartnerClaim]:
    """2 to 16 claims built on the same last proof: a chain of increments, some re-using a nonce
    with another amount (a double spend), some inflated."""
    claims = []
    for index in range(rng.randint(2, 16)):
        step = rng.randint(1, 5)
        nonce += rng.choice([0, 1, 1, 1])
        transferred += step
        stated = step + rng.choice([0, 0, 0, 1])
        claims.append(
            PartnerClaim(
                claim_id=f"r{round_}-{index}",
                fingerprint=f"fp-{round_}-{index}",
                nonce=max(nonce, 1),
                transferred_amount=transferred * UNIT,
                signature=f"sig-{round_}-{index}",
                stated_amount=stated,
            )
        )
    return claims


def test_racing_claims_never_credit_more_than_the_channel_increase(
    nodes: tuple[Node, Node],
) -> None:
    apps = [node.app for node in nodes]
    channel, account = seed(apps[0])
    rng = random.Random(1201)
    credited_total = 0
    verdicts: list[CreditVerdict] = []
    for round_ in range(ROUNDS):
        now = apps[0].channel(channel.id)
        claims = racing_claims(rng, round_, now.partner_nonce, now.partner_transferred // UNIT)
        verdicts += race(apps, channel.id, account.id, claims)

        after = apps[1].channel(channel.id)
        booked = apps[1].load(account.id, PeerAccount)
        credited = sum(apps[1].credited_claims(account.id).values())
        assert credited * UNIT == after.partner_transferred, f"round {round_}"
        assert booked.receivable == 10**9 - credited
        credited_total = credited
    assert credited_total > 0
    assert {CreditVerdict.CREDITED, CreditVerdict.STALE} <= set(verdicts)
    assert CreditVerdict.AMOUNT_ABOVE_INCREASE in verdicts
    nodes[0].app.take_snapshot(account.id)
    assert_fingerprints_survive_a_snapshot(nodes[0].database_url, account.id)


def assert_fingerprints_survive_a_snapshot(database_url: str, account_id: UUID) -> None:
    """A third application, loading the account from its snapshot, still tells a resent claim
    from another body under the same id."""
    with open_node(Settings(database_url=database_url), migrate=False) as fresh:
        assert fresh.app.snapshots is not None and list(fresh.app.snapshots.get(account_id))
        fresh.app.load(account_id, PeerAccount)
        claim_id, amount = next(iter(fresh.app.credited_claims(account_id).items()))
        row = fresh.app.received_claim(account_id, claim_id)
        assert row is not None and row.fingerprint.startswith("fp-")
        original = row.fingerprint
        channel_id = Channel.create_id("race")
        resent = PartnerClaim(claim_id, original, 1, 1, "sig", amount)
        again = fresh.app.receive_claim(channel_id, account_id, resent, pause_on_double_spend=False)
        assert again.verdict is CreditVerdict.DUPLICATE
        other = PartnerClaim(claim_id, "fp-other", 1, 1, "sig", amount)
        conflict = fresh.app.receive_claim(
            channel_id, account_id, other, pause_on_double_spend=False
        )
        assert conflict.verdict is CreditVerdict.CONFLICT


def race(
    apps: list[SettlementApp], channel_id: UUID, account_id: UUID, claims: list[PartnerClaim]
) -> list[CreditVerdict]:
    """Sends every claim at once, alternating between the two applications."""
    start = threading.Barrier(len(claims))
    verdicts: list[CreditVerdict] = []

    def send(index: int, claim: PartnerClaim) -> None:
        start.wait()
        try:
            result = apps[index % 2].receive_claim(
                channel_id, account_id, claim, pause_on_double_spend=False
            )
        except IntegrityError:  # conflicts past the retries: the sender would resend
            return
        verdicts.append(result.verdict)

    threads = [threading.Thread(target=send, args=(i, c)) for i, c in enumerate(claims)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return verdicts
