"""A hostile peer against a real node: node B (its own PostgreSQL database, a channel on Anvil,
its claims endpoint on 127.0.0.1) receives claims over real HTTP from mallory, who holds the
channel's other key and sends what an honest node never would: racing claims on one base,
inflated amounts, proofs signed by someone else, stale and equal nonces, replays of a claim id
with the same and with another body, and fields beyond what the contract accepts.

After every burst the invariant holds: what B credited equals the increase of mallory's
transferred amount on B's channel, converted exactly — never more.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account
from web3 import Web3

from adapters.claims.client import ClaimClient
from adapters.claims.errors import DeliveryFailed
from adapters.evm.balance_proof import BalanceProof
from adapters.evm.chains import connect_rpc
from adapters.evm.token import TokenClient
from adapters.evm.token_network import TokenNetworkClient
from adapters.evm.transactions import NonceManager, TransactionSender
from adapters.signing.local_key import LocalKeySigner
from application.claim_messages import ChannelRef, Claim, SignedProof
from application.clock import ManualClock
from devtools.dev_chain import deploy_rails, fund_participant
from domain.channel import Channel
from domain.peer_account import Direction, PacketEntry, PeerAccount
from tests.support.two_nodes import TOKEN, USD, TestNode, start_node

UNIT = 10**12  # token units (18 decimals) per minor unit of USD at scale 6
RECEIVABLE = 10**12  # minor units mallory owes B
RACE_ROUNDS = 200


@dataclass
class Mallory:
    """The hostile peer: a key with a funded channel to B, and a client for B's endpoint."""

    signer: LocalKeySigner
    network: TokenNetworkClient
    channel_id: int
    client: ClaimClient

    def claim(
        self, claim_id: str, nonce: int, transferred: int, amount: int, **changes: Any
    ) -> Claim:
        """A claim of `amount` minor units with a proof of `transferred` minor units in total."""
        proof = BalanceProof(self.channel_id, nonce, transferred * UNIT)
        signature = changes.pop("signer", self.network).sign_balance_proof(proof)
        fields: dict[str, Any] = {
            "claim_id": claim_id,
            "sender_node": "mallory",
            "sender_address": self.signer.address,
            "asset_code": USD.code,
            "asset_scale": USD.scale,
            "amount": str(amount),
            "channel": ChannelRef(
                chain_id=self.network.domain.chain_id,
                token_network=self.network.address,
                onchain_id=self.channel_id,
            ),
            "proof": SignedProof(
                nonce=nonce,
                transferred_amount=str(transferred * UNIT),
                locks_root="0x" + "00" * 32,
                signature="0x" + signature.hex(),
            ),
        }
        fields.update(changes)
        return Claim(**fields)

    def send(self, claim: Claim) -> tuple[int, str]:
        """(200, "accepted" | "duplicate") or (status, error code)."""
        try:
            return 200, self.client.deliver(claim).status
        except DeliveryFailed as failure:
            return failure.status or 0, failure.error


@dataclass
class Scene:
    b: TestNode
    mallory: Mallory
    channel: Any  # the Channel's id on B
    account: Any  # the PeerAccount's id on B

    def credited(self) -> int:
        return sum(self.b.node.app.credited_claims(self.account).values())

    def account_state(self) -> PeerAccount:
        return self.b.node.app.load(self.account, PeerAccount)

    def channel_state(self) -> Channel:
        return self.b.node.app.channel(self.channel)


def network_client(
    web3: Web3, signer: LocalKeySigner, token: str, network: str
) -> TokenNetworkClient:
    """`signer`'s client of the TokenNetwork, with the token approved for deposits."""
    sender = TransactionSender(web3, signer, NonceManager(), poll_interval_seconds=0.02)
    client = TokenNetworkClient(sender, network, confirmations=0)
    client.execute(TokenClient(sender, token).prepare_approve(network, 2**256 - 1))
    return client


@pytest.fixture
def scene(anvil_url: str, database_url: str) -> Iterator[Scene]:
    web3 = connect_rpc(anvil_url, 10)
    dev = deploy_rails(web3, ["anvil-a"], rpc_url=anvil_url)
    b = start_node("node-b", "mallory", database_url, web3, dev, ManualClock(), funded=False)
    try:
        signer = LocalKeySigner(Account.create())
        fund_participant(web3, signer, dev.token, 10**30)
        token_network = dev.rails[0].token_network
        assert token_network is not None
        network = network_client(web3, signer, dev.token, token_network)
        account = PeerAccount.open("mallory", USD, 10**6, 10**5, 10 * RECEIVABLE)
        account.register(signer.address, ["anvil-a"], "anvil-a", "http://127.0.0.1:9/")
        account.record_packets("owed", [PacketEntry("p", Direction.INCOMING, RECEIVABLE)])
        b.node.app.create(account)
        b.node.catch_up_read_models()  # B finds mallory by address when her channel opens
        confirmation = network.execute(network.prepare_open_channel(b.signer.address, 600))
        channel_id = network.channel_id_from(confirmation)
        network.execute(network.prepare_set_total_deposit(channel_id, 10**27))
        client = ClaimClient(b.claims_url, TOKEN, timeout_seconds=30)
        mallory = Mallory(signer, network, channel_id, client)
        # The first claim makes B sync the chain and find the channel.
        assert mallory.send(mallory.claim("first", 1, 1, 1)) == (200, "accepted")
        channel = b.process.directory.by_onchain_id(web3.eth.chain_id, network.address, channel_id)
        yield Scene(b, mallory, channel, account.id)
    finally:
        b.close()


def assert_credits_equal_the_increase(scene: Scene) -> None:
    assert scene.credited() * UNIT == scene.channel_state().partner_transferred
    assert scene.account_state().receivable == RECEIVABLE - scene.credited()


def burst(
    rng: random.Random, round_: int, nonce: int, transferred: int
) -> list[tuple[int, int, int]]:
    """2 to 16 (nonce, transferred, amount) built on the same last proof: increments in a
    chain, some re-using a nonce with another amount, some claiming one unit more.

    Mostly small bursts and a full one of 16 every 25th round: each claim costs ~70 ms of
    pure-Python secp256k1 (signing and verifying), which bounds the suite's time."""
    size = 16 if round_ % 25 == 0 else 2 + min(14, int(rng.expovariate(0.4)))
    claims = []
    for _ in range(size):
        step = rng.randint(1, 9)
        nonce += rng.choice([0, 1, 1, 1])
        transferred += step
        claims.append((max(nonce, 1), transferred, step + rng.choice([0, 0, 0, 1])))
    return claims


@pytest.mark.slow(20)
def test_racing_claims_never_credit_more_than_the_channel_increase(scene: Scene) -> None:
    scene.b.process.receiver.pause_on_double_spend = False  # stale proofs are part of the race
    mallory, rng = scene.mallory, random.Random(1201)
    answers: dict[tuple[int, str], int] = {}
    mismatches = []  # rounds after which the credits and the channel's increase differ
    credited_before = scene.credited()
    with ThreadPoolExecutor(max_workers=16) as pool:
        for round_ in range(RACE_ROUNDS):
            last = scene.channel_state()
            specs = burst(rng, round_, last.partner_nonce, last.partner_transferred // UNIT)
            claims = [mallory.claim(f"r{round_}-{i}", *spec) for i, spec in enumerate(specs)]
            for status, code in pool.map(mallory.send, claims):
                answers[(status, code)] = answers.get((status, code), 0) + 1
            increase = scene.channel_state().partner_transferred - last.partner_transferred
            credited = scene.credited() - credited_before
            if credited * UNIT != increase:
                mismatches.append((round_, credited * UNIT, increase))
            credited_before += credited
    assert mismatches == []
    assert_credits_equal_the_increase(scene)
    assert scene.account_state().paused_reason is None
    # The race reached every outcome: credits, refusals of inflated or early amounts, stale.
    assert {(200, "accepted"), (422, "invalid"), (409, "stale_proof")} <= set(answers)
    assert sum(answers.values()) >= 2 * RACE_ROUNDS


def test_hostile_claims_are_refused_and_credit_nothing(scene: Scene) -> None:
    mallory = scene.mallory
    base = scene.channel_state()
    nonce, total = base.partner_nonce, base.partner_transferred // UNIT
    send = mallory.send

    assert send(mallory.claim("inflated", nonce + 1, total + 5, 6))[0] == 422
    assert send(mallory.claim("early", nonce + 2, total + 5, 2)) == (503, "retry_later")
    someone = TokenNetworkClient(
        TransactionSender(mallory.network.web3, LocalKeySigner(Account.create()), NonceManager()),
        mallory.network.address,
    )
    assert send(mallory.claim("forged", nonce + 1, total + 5, 5, signer=someone)) == (
        422,
        "bad_signature",
    )
    assert send(mallory.claim("scale", nonce + 1, total + 5, 5, asset_scale=9)) == (422, "invalid")
    plain = mallory.claim("locked", nonce + 1, total + 5, 5)
    locked = plain.model_copy(
        update={"proof": plain.proof.model_copy(update={"locked_amount": "1"})}
    )
    assert send(locked) == (422, "invalid")  # a proof this node could not close the channel with
    assert_credits_equal_the_increase(scene)

    good = mallory.claim("good", nonce + 1, total + 5, 5)
    assert send(good) == (200, "accepted")
    assert send(good) == (200, "duplicate")  # the same body: the first answer again
    other_body = mallory.claim("good", nonce + 2, total + 9, 4)
    assert send(other_body) == (409, "conflict")
    forged_reuse = mallory.claim("good", nonce + 2, total + 9, 4, signer=someone)
    assert send(forged_reuse) == (409, "conflict")  # a reused id, whatever else is wrong
    replay = mallory.claim("good-again", nonce + 1, total + 5, 5)
    assert send(replay) == (409, "stale_proof")  # the same proof under a new id: no credit
    signature = replay.proof.signature
    v_as_0_or_1 = signature[:-2] + f"{int(signature[-2:], 16) - 27:02x}"
    respelled = replay.model_copy(
        update={
            "claim_id": "good-v01",
            "proof": replay.proof.model_copy(update={"signature": v_as_0_or_1}),
        }
    )
    assert send(respelled) == (409, "stale_proof")  # one proof, however v is spelled
    assert scene.account_state().paused_reason is None  # a replay is not a double spend
    assert_credits_equal_the_increase(scene)

    assert send(mallory.claim("equal", nonce + 1, total + 7, 2)) == (409, "stale_proof")
    assert scene.account_state().paused_reason is not None  # a double spend pauses the peer
    assert send(mallory.claim("after", nonce + 2, total + 9, 4)) == (422, "paused")
    # A paused peer is refused before any chain or signature check, an old proof included.
    assert send(mallory.claim("older", nonce, total, 1)) == (422, "paused")
    assert_credits_equal_the_increase(scene)
    assert scene.credited() == 1 + 5
