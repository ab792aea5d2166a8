"""Crediting a claim on the state being saved: the credit is the proof's increase on the channel,
converted exactly; a stated amount that differs is refused; claim ids are fingerprinted (the
index of received claims is a dict here, filled as the application's recorder would)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from application.claim_index import ReceivedClaimRow
from application.claims_credit import CreditResult, CreditVerdict, PartnerClaim, credit_claim
from domain.channel import Channel
from domain.errors import ExceedsReceivable, LossyConversion
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry, PeerAccount

OURS = "0x00000000000000000000000000000000000000aa"
THEIRS = "0x00000000000000000000000000000000000000bb"
UNIT = 10**12  # token units (18 decimals) per minor unit of USD at scale 6


def state(
    partner_deposit: int = 1_000 * UNIT, receivable: int = 500
) -> tuple[Channel, PeerAccount]:
    channel = Channel.request_open(
        "k", "alice", "USD", 31337, "0x" + "ab" * 20, OURS, THEIRS, 500, 18, 6
    )
    channel.observe_opened(7, "0xa1", 0)
    channel.observe_deposit(THEIRS, partner_deposit, "0xa3", 1)
    account = PeerAccount.open("alice", Asset("USD", 6), 10**6, 10**5, 10**9)
    account.record_packets("b1", [PacketEntry("p1", Direction.INCOMING, receivable)])
    channel.collect_events()
    account.collect_events()
    return channel, account


def claim(claim_id: str, nonce: int, transferred: int, stated: int, **changes: str) -> PartnerClaim:
    fields = {
        "claim_id": claim_id,
        "fingerprint": f"fp-{claim_id}-{nonce}-{transferred}-{stated}",
        "nonce": nonce,
        "transferred_amount": transferred * UNIT,
        "signature": f"sig-{nonce}-{transferred}",
        "stated_amount": stated,
    }
    fields.update(changes)
    return PartnerClaim(**fields)  # type: ignore[arg-type]


INDEX: dict[tuple[object, str], ReceivedClaimRow] = {}


@pytest.fixture(autouse=True)
def _empty_index() -> None:
    INDEX.clear()


def credit(
    channel: Channel, account: PeerAccount, c: PartnerClaim, pause: bool = True
) -> CreditResult:
    seen = INDEX.get((account.id, c.claim_id))
    result = credit_claim(channel, account, c, seen, pause_on_double_spend=pause)
    if result.verdict is CreditVerdict.CREDITED:
        INDEX[(account.id, c.claim_id)] = ReceivedClaimRow(
            account.id, c.claim_id, c.fingerprint, result.credited, channel.id, datetime.now(UTC)
        )
    return result


def credited(account: PeerAccount) -> dict[str, int]:
    return {claim_id: row.amount for (a, claim_id), row in INDEX.items() if a == account.id}


def test_credit_is_the_increase_on_the_channel_in_the_accounts_scale() -> None:
    channel, account = state()
    assert credit(channel, account, claim("c1", 1, 40, 40)) == CreditResult(
        CreditVerdict.CREDITED, 40
    )
    assert credit(channel, account, claim("c2", 2, 100, 60)) == CreditResult(
        CreditVerdict.CREDITED, 60
    )
    assert (channel.partner_transferred, account.receivable) == (100 * UNIT, 400)
    assert credited(account) == {"c1": 40, "c2": 60}


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_claims_made_on_one_base_credit_exactly_the_increase_in_any_order(
    order: tuple[int, ...],
) -> None:
    """+1 then +2 then +4, each computed by the sender on the last; arriving in any order and
    each retried once the state moved, the total credited is the channel's increase."""
    channel, account = state()
    claims = [claim("c1", 1, 1, 1), claim("c2", 2, 3, 2), claim("c3", 3, 7, 4)]
    pending = [claims[i] for i in order]
    for _ in range(len(claims)):
        pending = [
            c for c in pending if credit(channel, account, c).verdict is not CreditVerdict.CREDITED
        ]
    assert sum(credited(account).values()) * UNIT == channel.partner_transferred


def test_the_second_of_two_claims_on_the_same_nonce_is_stale_and_credits_nothing() -> None:
    channel, account = state()
    assert credit(channel, account, claim("c1", 1, 1, 1)).verdict is CreditVerdict.CREDITED
    result = credit(channel, account, claim("c2", 1, 2, 2))
    assert result.verdict is CreditVerdict.STALE
    assert sum(credited(account).values()) * UNIT == channel.partner_transferred == UNIT
    assert account.paused_reason is not None


def test_stated_amount_above_the_increase_is_refused_and_records_nothing() -> None:
    channel, account = state()
    result = credit(channel, account, claim("c1", 1, 5, 6))
    assert result.verdict is CreditVerdict.AMOUNT_ABOVE_INCREASE
    assert result.detail.startswith("amount: 6")
    assert channel.collect_events() == [] and account.collect_events() == []


def test_stated_amount_below_the_increase_waits_for_the_earlier_claim() -> None:
    channel, account = state()
    result = credit(channel, account, claim("c2", 2, 3, 2))
    assert result.verdict is CreditVerdict.AMOUNT_BELOW_INCREASE
    assert channel.collect_events() == [] and account.collect_events() == []


def test_same_claim_id_same_body_is_a_duplicate_and_another_body_a_conflict() -> None:
    channel, account = state()
    first = claim("c1", 1, 5, 5)
    credit(channel, account, first)
    assert credit(channel, account, first) == CreditResult(CreditVerdict.DUPLICATE, 5)
    other = claim("c1", 2, 9, 4)
    result = credit(channel, account, other)
    assert result.verdict is CreditVerdict.CONFLICT
    assert "claim_id" in result.detail
    assert account.receivable == 495


def test_the_latest_proof_under_a_new_claim_id_credits_nothing() -> None:
    channel, account = state()
    credit(channel, account, claim("c1", 1, 5, 5))
    replay = claim("c1-again", 1, 5, 5)
    assert credit(channel, account, replay).verdict is CreditVerdict.REPLAYED
    assert credited(account) == {"c1": 5}
    assert account.paused_reason is None


def test_a_proof_past_the_partners_deposit_is_refused_until_it_is_seen() -> None:
    channel, account = state(partner_deposit=10 * UNIT)
    result = credit(channel, account, claim("c1", 1, 11, 11))
    assert result.verdict is CreditVerdict.BEYOND_DEPOSIT
    assert result.detail.startswith("proof.transferred_amount")


def test_an_increase_that_does_not_convert_exactly_aborts() -> None:
    channel, account = state()
    odd = claim("c1", 1, 1, 1, transferred_amount=UNIT + 1)  # type: ignore[arg-type]
    with pytest.raises(LossyConversion):
        credit(channel, account, odd)


def test_more_than_the_receivable_aborts() -> None:
    channel, account = state(receivable=10)
    with pytest.raises(ExceedsReceivable):
        credit(channel, account, claim("c1", 1, 11, 11))


def test_a_paused_account_takes_no_credit_but_a_stale_proof_is_still_recorded() -> None:
    channel, account = state()
    credit(channel, account, claim("c1", 1, 5, 5))
    account.pause("operator")
    assert credit(channel, account, claim("c2", 2, 6, 1)).verdict is CreditVerdict.PAUSED
    assert credit(channel, account, claim("c3", 1, 4, 1)).verdict is CreditVerdict.STALE
    names = [type(e).__name__ for e in channel.collect_events()]
    assert names[-1] == "SuspectedDoubleSpend"


def test_without_pause_on_double_spend_a_stale_proof_leaves_the_account_open() -> None:
    channel, account = state()
    credit(channel, account, claim("c1", 2, 5, 5))
    assert credit(channel, account, claim("c2", 1, 6, 1), pause=False).verdict is (
        CreditVerdict.STALE
    )
    assert account.paused_reason is None


def test_a_claim_on_a_settled_channel_is_refused_whatever_its_id() -> None:
    """Once settled, a channel's claim ids may be forgotten (retention): a replay of one, or a
    new claim, is refused clearly, credits nothing and is not taken for a double spend."""
    channel, account = state()
    credit(channel, account, claim("c1", 1, 5, 5))
    channel.observe_closed(THEIRS, "0xc1", 0)
    channel.observe_settled(5, 0, "0xd1", 0)
    channel.collect_events()
    account.collect_events()
    INDEX.clear()  # the row forgotten
    for late in (claim("c1", 1, 5, 5), claim("c0", 0, 1, 1), claim("c2", 2, 9, 4)):
        result = credit(channel, account, late)
        assert result.verdict is CreditVerdict.CHANNEL_NOT_OPEN
        assert result.detail == "channel: the channel is settled; it takes no more proofs"
    assert account.receivable == 495 and account.paused_reason is None
    assert channel.collect_events() == [] and account.collect_events() == []


def test_a_duplicate_is_still_answered_on_a_settled_channel_while_its_row_is_kept() -> None:
    channel, account = state()
    first = claim("c1", 1, 5, 5)
    credit(channel, account, first)
    channel.observe_closed(THEIRS, "0xc1", 0)
    channel.observe_settled(5, 0, "0xd1", 0)
    assert credit(channel, account, first) == CreditResult(CreditVerdict.DUPLICATE, 5)
