"""The ledger postings projection on both backends: events become transfers exactly once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from functools import partial

import psycopg
import pytest

from adapters.ledger.chart import Chart
from adapters.ledger.ids import transfer_id
from adapters.ledger.port import CreateResult, LedgerPort, Transfer
from adapters.ledger.reconcile import compare_balances
from bootstrap.node import Node, open_node
from bootstrap.settings import Settings
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry, PeerAccount
from projections.ledger_postings import LedgerPostingsProjection, PostingRefused
from projections.runner import ProjectionRunner
from tests.support import account_settlements as settle
from tests.support import aggregate_commands as aggregates

USD = Asset("USD", 2)
OURS, THEIRS = "0x" + "a" * 40, "0x" + "b" * 40


@pytest.fixture
def node(database_url: str) -> Iterator[Node]:
    with open_node(Settings(database_url=database_url)) as n:
        yield n


def packets(tag: str, *amounts: tuple[Direction, int]) -> list[PacketEntry]:
    return [PacketEntry(f"{tag}-{i}", d, a) for i, (d, a) in enumerate(amounts)]


def postings_runner(node: Node, ledger: LedgerPort) -> ProjectionRunner:
    return node.runner(LedgerPostingsProjection(ledger, Chart()))


def test_money_moving_events_post_transfers_that_match_the_read_model(
    node: Node, ledger: LedgerPort
) -> None:
    peer = f"peer-{uuid.uuid4().hex[:8]}"
    account_id = node.app.open_peer_account(peer, USD, 10**9, 0, 10**9)
    node.app.record_packets(
        peer, "USD", "b1", packets("p", (Direction.OUTGOING, 500), (Direction.INCOMING, 70))
    )
    applied, released = uuid.uuid4(), uuid.uuid4()
    settle.reserve(node.app, account_id, applied, 200)
    settle.apply(node.app, account_id, applied)
    settle.reserve(node.app, account_id, released, 100)
    settle.release(node.app, account_id, released)
    settle.reserve(node.app, account_id, uuid.uuid4(), 50)
    node.app.receive_settlement(account_id, "claim-1", 30)

    runner = postings_runner(node, ledger)
    assert runner.catch_up() > 0
    node.catch_up_read_models()

    [comparison] = compare_balances(ledger, Chart(), node.read_side().all_balances(peer))
    assert comparison.matches, comparison
    assert (comparison.payable, comparison.receivable, comparison.in_flight) == (250, 40, 50)
    recorded = next(
        e for e in node.app.history(account_id) if isinstance(e, PeerAccount.PacketsRecorded)
    )
    ids = [transfer_id(account_id, recorded.originator_version, leg) for leg in range(2)]
    assert [t.amount for t in ledger.lookup_transfers(ids)] == [500, 70]


def test_replaying_every_event_finds_every_transfer_exists(node: Node, ledger: LedgerPort) -> None:
    peer = f"peer-{uuid.uuid4().hex[:8]}"
    account_id = node.app.open_peer_account(peer, USD, 10**9, 0, 10**9)
    node.app.record_packets(peer, "USD", "b1", packets("p", (Direction.OUTGOING, 9)))
    settle.reserve(node.app, account_id, uuid.uuid4(), 4)
    runner = postings_runner(node, ledger)
    runner.catch_up()
    with psycopg.connect(node.database_url) as conn:
        conn.execute(
            "UPDATE projection_tracking SET position = 0 WHERE projection = %s",
            (LedgerPostingsProjection.name,),
        )
        conn.execute("TRUNCATE ledger_posting_accounts, ledger_posting_holds")
    assert runner.catch_up() > 0  # replays without error: `exists` is success
    node.catch_up_read_models()
    [comparison] = compare_balances(ledger, Chart(), node.read_side().all_balances(peer))
    assert comparison.matches and comparison.payable == 5


def test_a_transfer_that_exists_with_different_fields_stops_the_projection(
    node: Node, ledger: LedgerPort
) -> None:
    peer = f"peer-{uuid.uuid4().hex[:8]}"
    account_id = node.app.open_peer_account(peer, USD, 10**9, 0, 10**9)
    runner = postings_runner(node, ledger)
    runner.catch_up()
    before = runner.position()
    node.app.record_packets(peer, "USD", "b1", packets("p", (Direction.OUTGOING, 9)))
    version = node.app.peer_account(peer, "USD").version
    chart = Chart()
    accounts = chart.peer_accounts(peer, "USD")
    squatter = Transfer(
        id=transfer_id(account_id, version, 0),
        debit_account_id=chart.connector("USD").id,
        credit_account_id=accounts.payable.id,
        amount=8,
        ledger=chart.ledger("USD"),
        code=2,
    )
    assert ledger.create_transfers([squatter]) == [CreateResult.CREATED]
    with pytest.raises(PostingRefused) as refused:
        runner.catch_up()
    assert refused.value.result is CreateResult.EXISTS_WITH_DIFFERENT_AMOUNT
    assert not refused.value.retryable
    assert runner.position() == before


def test_our_channel_deposits_go_to_escrow_and_come_back_on_settlement(
    node: Node, ledger: LedgerPort
) -> None:
    from domain.channel import Channel

    channel = Channel.request_open(
        f"key-{uuid.uuid4()}", "carol", "USD", 1, "0x" + "c" * 40, OURS, THEIRS, 500
    )
    node.app.create(channel)
    observe = partial(aggregates.change_channel, node.app, channel.id)
    observe(lambda c: c.observe_opened(7, "0x01", 0))
    observe(lambda c: c.observe_deposit(OURS, 300, "0x02", 0))
    observe(lambda c: c.observe_deposit(THEIRS, 900, "0x03", 0))
    observe(lambda c: c.observe_deposit(OURS, 450, "0x04", 0))
    runner = postings_runner(node, ledger)
    runner.catch_up()
    escrow = Chart().channel_escrow(channel.id, "USD").id
    [held] = ledger.lookup_accounts([escrow])
    assert held.debit_balance == 450
    observe(lambda c: c.observe_settled(400, 950, "0x05", 0))
    runner.catch_up()
    [emptied] = ledger.lookup_accounts([escrow])
    assert (emptied.debits_posted, emptied.credits_posted) == (450, 450)
