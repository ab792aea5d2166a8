"""The fold of a TokenNetwork's logs: deposits raise what it should hold by their increase,
payouts lower it, and only channels with our address are kept as ours."""

from __future__ import annotations

from typing import Any

from application.chain_ports import ChannelLog
from application.reconciliation_chain import (
    ChainEscrow,
    EscrowTally,
    unknown_channel_differences,
)
from domain.address import Address

US = "0x" + "11" * 20
PEER = "0x" + "22" * 20
C, D = "0x" + "33" * 20, "0x" + "44" * 20


def logged(kind: str, channel: int, block: int, **fields: Any) -> ChannelLog:
    return ChannelLog(kind, channel, f"0x{block:064x}", 0, block, {"channelId": channel, **fields})


def test_deposits_count_by_their_increase_and_a_payout_leaves_the_escrow() -> None:
    tally = EscrowTally(Address(US), 0)
    tally.fold(
        [
            logged("ChannelOpened", 1, 1, participant1=C, participant2=D),
            logged("ChannelNewDeposit", 1, 2, participant=C, totalDeposit=100),
            logged("ChannelNewDeposit", 1, 3, participant=C, totalDeposit=150),  # +50
            logged("ChannelNewDeposit", 1, 3, participant=D, totalDeposit=30),
            logged("ChannelOpened", 2, 4, participant1=PEER, participant2=US),
            logged("ChannelNewDeposit", 2, 5, participant=US, totalDeposit=7),
        ],
        6,
    )
    assert tally.expected == 187 and tally.next_block == 6
    assert list(tally.ours) == [2] and tally.ours[2].partner == PEER
    assert (tally.ours[2].our_deposit, tally.ours[2].held) == (7, 7)
    tally.fold(
        [
            logged(
                "ChannelSettled",
                1,
                7,
                participant1=C,
                participant1Amount=120,
                participant2=D,
                participant2Amount=60,
                cooperative=True,
            )
        ],
        8,
    )
    assert tally.expected == 7


def test_a_channel_opened_where_the_sync_has_not_read_is_not_yet_unknown() -> None:
    tally = EscrowTally(Address(US), 0)
    tally.apply(logged("ChannelOpened", 5, 10, participant1=US, participant2=PEER))
    ours = tuple(tally.ours.values())
    behind = ChainEscrow("0xnetwork", 12, 0, 0, ours, synced_to=10)
    assert unknown_channel_differences(behind, []) == []
    past = ChainEscrow("0xnetwork", 12, 0, 0, ours, synced_to=11)
    [difference] = unknown_channel_differences(past, [])
    assert difference.subject == f"on-chain channel 5 with {PEER}"
    known = [{"onchain_id": 5}]
    assert unknown_channel_differences(past, known) == []
