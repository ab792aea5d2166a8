"""Crediting a peer's claim on the state being saved, inside one atomic save.

The amount credited is never what the claim says: it is the increase the proof makes to the
partner's transferred amount on the Channel as it is being saved, converted exactly to the
account's scale. The claim's stated amount must equal that increase or the claim is refused, so
two claims racing on one channel serialize through optimistic concurrency and each is checked
against the state the other left. `credit_claim` runs inside `_change_together(channel,
account)`: a conflicting writer means it runs again on fresh state. Whether the claim id was
credited before is looked up in the index of received claims inside that same attempt
(`application.claim_index`) and handed in as `seen`: the index row is written with the credit,
so a racing second credit of the id fails the save and runs again, finding the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from application.claim_index import ReceivedClaimRow
from domain.channel import Channel, ProofVerdict
from domain.channel_state import ChannelState
from domain.money import convert_scale
from domain.peer_account import PeerAccount


@dataclass(frozen=True)
class PartnerClaim:
    """What the command needs of a verified claim: its id and body fingerprint, the proof, and
    the amount the claim says it pays (in the account's minor units)."""

    claim_id: str
    fingerprint: str
    nonce: int
    transferred_amount: int  # cumulative, in token units
    signature: str
    stated_amount: int


class CreditVerdict(StrEnum):
    CREDITED = "credited"
    DUPLICATE = "duplicate"  # this claim, with this body, was credited before
    CONFLICT = "conflict"  # this claim id was credited with another body
    CHANNEL_NOT_OPEN = "channel_not_open"  # closed or settled: it takes no more proofs
    REPLAYED = "replayed"  # the channel's latest proof again, under a new claim id
    STALE = "stale"  # the proof does not move forward: a suspected double spend
    PAUSED = "paused"
    AMOUNT_ABOVE_INCREASE = "amount_above_increase"  # can never become true: refused for good
    AMOUNT_BELOW_INCREASE = "amount_below_increase"  # an earlier proof may still be on its way
    BEYOND_DEPOSIT = "beyond_deposit"  # the deposit that covers it may not be seen yet


@dataclass(frozen=True)
class CreditResult:
    verdict: CreditVerdict
    credited: int = 0  # minor units this claim credited (for a duplicate, when first credited)
    detail: str = ""


def credit_claim(
    channel: Channel,
    account: PeerAccount,
    claim: PartnerClaim,
    seen: ReceivedClaimRow | None,
    *,
    pause_on_double_spend: bool,
) -> CreditResult:
    """Records the proof on the channel and credits its increase on the account, or refuses.
    `seen` is the index's row of a claim credited before under this id, if any.

    Raises (aborting the save) when the increase cannot be converted exactly (LossyConversion)
    or exceeds the receivable (ExceedsReceivable).
    """
    if seen is not None:
        if seen.conflicts_with(claim.fingerprint):
            return CreditResult(
                CreditVerdict.CONFLICT,
                detail=f"claim_id: {claim.claim_id!r} was received before with another body",
            )
        return CreditResult(CreditVerdict.DUPLICATE, seen.amount)
    if channel.state != ChannelState.OPENED:
        # A settled channel's claim ids may have been forgotten (`application.claim_index`):
        # whatever the id, a proof on it is refused, never credited nor taken for a double spend.
        state = ChannelState(channel.state).value
        return CreditResult(
            CreditVerdict.CHANNEL_NOT_OPEN,
            detail=f"channel: the channel is {state}; it takes no more proofs",
        )
    latest = (channel.partner_nonce, channel.partner_transferred, channel.partner_signature)
    if (claim.nonce, claim.transferred_amount, claim.signature) == latest:
        return CreditResult(
            CreditVerdict.REPLAYED,
            detail=f"the proof with nonce {claim.nonce} was already credited by another claim",
        )
    if claim.transferred_amount > channel.partner_deposit:
        return CreditResult(
            CreditVerdict.BEYOND_DEPOSIT,
            detail=f"proof.transferred_amount: {claim.transferred_amount} exceeds the partner's "
            f"deposit seen ({channel.partner_deposit})",
        )
    moves_forward = (
        claim.nonce > channel.partner_nonce
        and claim.transferred_amount >= channel.partner_transferred
    )
    paid = 0
    if moves_forward:
        if account.paused_reason is not None:
            return CreditResult(
                CreditVerdict.PAUSED, detail=f"account is paused: {account.paused_reason}"
            )
        increase = claim.transferred_amount - channel.partner_transferred
        paid = convert_scale(increase, channel.token_decimals, account.asset_scale)
        refusal = _amount_refusal(claim.stated_amount, paid)
        if refusal is not None:
            return refusal
    verdict = channel.receive_partner_proof(claim.nonce, claim.transferred_amount, claim.signature)
    if verdict is ProofVerdict.ACCEPTED:
        account.receive_settlement(claim.claim_id, paid, claim.fingerprint)
        return CreditResult(CreditVerdict.CREDITED, paid)
    if pause_on_double_spend:
        account.pause(f"suspected double spend on channel {channel.onchain_id}")
    return CreditResult(
        CreditVerdict.STALE,
        detail=f"proof.nonce: {claim.nonce} with transferred_amount {claim.transferred_amount} "
        f"does not move past nonce {channel.partner_nonce} with {channel.partner_transferred}",
    )


def _amount_refusal(stated: int, paid: int) -> CreditResult | None:
    if stated > paid:
        # The partner's transferred amount only grows, so the increase only shrinks: never true.
        return CreditResult(
            CreditVerdict.AMOUNT_ABOVE_INCREASE,
            detail=f"amount: {stated} but the proof pays {paid} more than the last one",
        )
    if stated < paid:
        return CreditResult(
            CreditVerdict.AMOUNT_BELOW_INCREASE,
            detail=f"amount: {stated} but the proof pays {paid} more than the last one credited; "
            "an earlier claim may not have arrived yet",
        )
    return None
