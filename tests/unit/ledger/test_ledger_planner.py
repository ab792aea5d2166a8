"""The ledger postings planner, without a database: which accounts and transfers events become."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import uuid4

import pytest

from adapters.ledger.chart import Chart, TransferCode
from adapters.ledger.ids import packet_key, transfer_id
from adapters.ledger.port import AMOUNT_MAX, TransferFlags
from domain.channel import Channel
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry, PeerAccount
from projections.ledger_planner import MissingPostingState, PostingPlanner, PostingState

CHART = Chart()
OURS, THEIRS = "0x" + "a" * 40, "0x" + "b" * 40


def plan(state: PostingState, events: Sequence[Any], first_position: int = 1) -> PostingPlanner:
    planner = PostingPlanner(CHART, state)
    for position, event in enumerate(events, start=first_position):
        planner.add(position, event)
    return planner


def test_packets_become_one_transfer_each_between_peer_and_connector() -> None:
    account = PeerAccount.open("alice", Asset("USD", 2), 10**6, 0, 10**6)
    account.record_packets(
        "b1",
        [PacketEntry("p-1", Direction.OUTGOING, 40), PacketEntry("p-2", Direction.INCOMING, 7)],
    )
    opened, recorded = account.collect_events()
    state = PostingState()
    planner = plan(state, [opened, recorded])
    peer = CHART.peer_accounts("alice", "USD")
    assert {a.id for a in planner.plan.accounts} >= {peer.payable.id, peer.receivable.id}
    outgoing, incoming = planner.plan.transfers
    connector = CHART.connector("USD").id
    assert (outgoing.debit_account_id, outgoing.credit_account_id, outgoing.amount) == (
        connector,
        peer.payable.id,
        40,
    )
    assert (incoming.debit_account_id, incoming.credit_account_id, incoming.amount) == (
        peer.receivable.id,
        connector,
        7,
    )
    assert outgoing.id == transfer_id(account.id, recorded.originator_version, 0)
    assert incoming.user_data_128 == packet_key("p-2")
    assert planner.plan.positions == {outgoing.id: 2, incoming.id: 2}
    assert state.changed_peers == {account.id}


def test_a_reservation_is_a_pending_transfer_posted_on_apply_and_voided_on_release() -> None:
    account = PeerAccount.open("bob", Asset("USD", 2), 10**6, 0, 10**6)
    account.record_packets("b1", [PacketEntry("p", Direction.OUTGOING, 500)])
    applied, released = uuid4(), uuid4()
    account.reserve(applied, 200)
    account.apply(applied)
    account.reserve(released, 100)
    account.release(released)
    events = account.collect_events()
    planner = plan(PostingState(), events)
    by_code = [(t.code, t.flags, t.amount) for t in planner.plan.transfers[1:]]
    assert by_code == [
        (TransferCode.SETTLEMENT_RESERVED, TransferFlags.PENDING, 200),
        (0, TransferFlags.POST_PENDING_TRANSFER, AMOUNT_MAX),
        (TransferCode.SETTLEMENT_PAID_OUT, TransferFlags.NONE, 200),
        (TransferCode.SETTLEMENT_RESERVED, TransferFlags.PENDING, 100),
        (0, TransferFlags.VOID_PENDING_TRANSFER, 0),
    ]
    hold, post = planner.plan.transfers[1], planner.plan.transfers[2]
    assert post.pending_id == hold.id


def test_only_our_deposits_are_booked_once_whatever_the_address_spelling() -> None:
    token_network = "0x" + "c" * 40
    channel = Channel.request_open("key", "carol", "USD", 1, token_network, OURS, THEIRS, 500, 6, 2)
    channel.observe_opened(7, "0x01", 0)
    channel.observe_deposit("0x" + "A" * 40, 3_000_000, "0x02", 0)  # ours, spelled otherwise
    channel.observe_deposit(THEIRS, 9_000_000, "0x03", 0)
    channel.observe_deposit(OURS, 3_000_000, "0x04", 0)  # the same total seen again adds nothing
    channel.observe_deposit(OURS, 4_500_000, "0x05", 0)
    channel.observe_settled(4_000_000, 9_500_000, "0x06", 0)
    planner = plan(PostingState(), channel.collect_events())
    escrow = CHART.channel_escrow(channel.id, "USD").id
    moves = [
        (t.code, t.debit_account_id == escrow, t.amount, t.user_data_128)
        for t in planner.plan.transfers
    ]
    assert moves == [  # 6 token decimals counted at asset scale 2
        (TransferCode.CHANNEL_DEPOSIT, True, 300, channel.id.int),
        (TransferCode.CHANNEL_DEPOSIT, True, 150, channel.id.int),
        (TransferCode.CHANNEL_SETTLED, False, 450, channel.id.int),
    ]
    assert planner.state.channels[channel.id].our_deposit == 0


def test_an_event_of_an_aggregate_never_seen_opened_is_missing_state() -> None:
    account = PeerAccount.open("dave", Asset("USD", 2), 10**6, 0, 10**6)
    account.record_packets("b1", [PacketEntry("p", Direction.OUTGOING, 5)])
    _, recorded = account.collect_events()
    with pytest.raises(MissingPostingState) as missing:
        plan(PostingState(), [recorded], first_position=9)
    assert (missing.value.kind, missing.value.key, missing.value.position) == (
        "peer_account",
        account.id,
        9,
    )
