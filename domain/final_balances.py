"""Final balances of a channel: what each participant is paid when it ends.

Each side gets its deposit, less what it sent, plus what it received; the contract lists the
two participants in its own order (participant1, participant2), so the terms both sign are
arranged in that order. Pure arithmetic: the caller supplies the deposits and cumulative
transfers from the channel's recorded state.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.address import Address
from domain.errors import InvalidField


@dataclass(frozen=True)
class CooperativeSettlement:
    """The final balances both participants sign to end a channel without a dispute."""

    channel_id: int
    participant1: str
    participant1_balance: int
    participant2: str
    participant2_balance: int


def final_balances(
    channel_id: int,
    participant1: str,
    participant2: str,
    us: str,
    deposits: tuple[int, int],
    transferred: tuple[int, int],
) -> CooperativeSettlement:
    """The terms that end channel `channel_id`: `deposits` and cumulative `transferred` amounts
    are (ours, the partner's); `us` is one of the two participants."""
    our_deposit, partner_deposit = deposits
    our_transferred, partner_transferred = transferred
    ours = our_deposit - our_transferred + partner_transferred
    theirs = partner_deposit - partner_transferred + our_transferred
    if ours < 0 or theirs < 0:
        raise InvalidField(
            "transferred", transferred, f"sends more than the deposits {deposits} hold"
        )
    first_is_us = Address(participant1, "participant1") == Address(us, "our_address")
    if not first_is_us and Address(participant2, "participant2") != Address(us, "our_address"):
        raise InvalidField("our_address", us, f"is not a participant of channel {channel_id}")
    return CooperativeSettlement(
        channel_id=channel_id,
        participant1=participant1,
        participant1_balance=ours if first_is_us else theirs,
        participant2=participant2,
        participant2_balance=theirs if first_is_us else ours,
    )
