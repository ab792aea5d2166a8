"""A peer account and open channels in one application, to credit claims without a chain:
what the tests of the index of received claims (`application.claim_index`) build on."""

from __future__ import annotations

from uuid import UUID

from application.app import SettlementApp
from application.claims_credit import CreditResult, PartnerClaim
from domain.channel import Channel
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry, PeerAccount

OURS = "0x00000000000000000000000000000000000000aa"
THEIRS = "0x00000000000000000000000000000000000000bb"
UNIT = 10**12  # token units (18 decimals) per minor unit of USD at scale 6
ALICE = PeerAccount.create_id("alice", "USD")


def open_account(app: SettlementApp, receivable: int = 10**6) -> UUID:
    app.open_peer_account("alice", Asset("USD", 6), 10**9, 10**5, 10**9)
    app.record_packets("alice", "USD", "b1", [PacketEntry("p1", Direction.INCOMING, receivable)])
    return ALICE


def open_channel(app: SettlementApp, key: str = "k", deposit: int = 10**6 * UNIT) -> UUID:
    channel = Channel.request_open(
        key, "alice", "USD", 31337, "0x" + "ab" * 20, OURS, THEIRS, 500, 18, 6
    )
    channel.observe_opened(7, f"0x{key}1", 0)
    channel.observe_deposit(THEIRS, deposit, f"0x{key}3", 1)
    app.save(channel)
    return channel.id


def settle_channel(app: SettlementApp, channel_id: UUID) -> None:
    channel = app.load(channel_id, Channel)
    channel.observe_closed(THEIRS, "0xc1", 0)
    channel.observe_settled(0, channel.partner_transferred, "0xd1", 0)
    app.save(channel)


def claim(claim_id: str, nonce: int, transferred: int, stated: int, fp: str = "") -> PartnerClaim:
    """A claim moving the partner's transferred amount to `transferred` minor units."""
    return PartnerClaim(
        claim_id, fp or f"fp-{claim_id}", nonce, transferred * UNIT, f"sig-{nonce}", stated
    )


def send(app: SettlementApp, channel_id: UUID, c: PartnerClaim) -> CreditResult:
    return app.receive_claim(channel_id, ALICE, c, pause_on_double_spend=True)
