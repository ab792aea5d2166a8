"""Reconciliation on two in-process nodes that settled through a channel on Anvil: a clean run
reports nothing; each kind of difference injected is named precisely, with its amount."""

from __future__ import annotations

import psycopg

from application.clock import ManualClock
from domain.reconciliation import ReconciliationRun
from tests.integration.reconcile.conftest import (
    RAIL,
    only,
    reconcile,
    record_traffic,
    the_channel,
)
from tests.support import aggregate_commands as aggregates
from tests.support.two_nodes import TestNode


def test_a_clean_two_node_run_reports_nothing_exits_0_and_is_recorded(
    settled: tuple[TestNode, TestNode, ManualClock],
) -> None:
    a, b, clock = settled
    for node in (a, b):
        report = reconcile(node, clock)
        assert report.differences == [], report.as_dict()
        assert report.checked == {"replay": 0, "ledger": 0, "chain": 0, "claims": 0}
        assert report.skipped == {} and report.failed == {}
        assert report.exit_code == 0
        run = node.node.app.load(ReconciliationRun.create_id(report.run_key), ReconciliationRun)
        assert run.clean and run.checks == report.checked


def test_an_edited_read_model_row_is_named_with_its_amount(
    settled: tuple[TestNode, TestNode, ManualClock],
) -> None:
    a, _b, clock = settled
    [row] = a.node.read_side().all_balances()
    with psycopg.connect(a.node.database_url) as conn:
        account_id = conn.execute(
            "UPDATE balances SET payable = payable + 7 RETURNING account_id"
        ).fetchone()
    assert account_id is not None
    report = reconcile(a, clock, checks=["replay"])
    [difference] = only(report, "replay")
    assert difference.subject == f"balances/{account_id[0]}"
    assert (difference.field, difference.amount) == ("payable", 7)
    assert difference.books == row["payable"] and difference.actual == row["payable"] + 7
    assert report.exit_code == 1
    run = a.node.app.load(ReconciliationRun.create_id(report.run_key), ReconciliationRun)
    assert run.checks == {"replay": 1} and run.differences[0]["field"] == "payable"


def test_a_transfer_missing_from_the_ledger_is_named_per_account(
    settled: tuple[TestNode, TestNode, ManualClock],
) -> None:
    a, b, clock = settled
    # The ledger follower does not run: these packets reach the read models, not the ledger.
    record_traffic(a, b, [250_000], "unposted")
    report = reconcile(a, clock, catch_up_ledger=False, checks=["ledger"])
    [difference] = only(report, "ledger")
    assert difference.subject == "node-b/USD"
    assert (difference.field, difference.amount, difference.unit) == ("payable", -250_000, "USD")
    assert report.exit_code == 1


def test_an_onchain_deposit_never_recorded_shows_in_the_channel_and_our_escrow(
    settled: tuple[TestNode, TestNode, ManualClock],
) -> None:
    a, _b, clock = settled
    channel = the_channel(a)
    rail = a.process.rails[RAIL]
    extra = 10**18
    approve = rail.token.prepare_approve(rail.token_network, 10**30)
    rail.transactions.broadcast(approve)
    rail.transactions.wait_confirmed(approve.tx_hash)
    total = int(channel["our_deposit"]) + extra
    deposit = rail.network.prepare_set_total_deposit(int(channel["onchain_id"]), total)
    rail.transactions.broadcast(deposit)  # never recorded, and the chain is not synced
    assert rail.transactions.wait_confirmed(deposit.tx_hash).succeeded
    report = reconcile(a, clock, checks=["chain"])
    by_field = {d.field: d for d in only(report, "chain")}
    # The escrow matches the contract's own logs (the deposit is in them): only our books lag.
    assert set(by_field) == {"our_deposit", "our_escrow"}
    assert by_field["our_deposit"].amount == extra
    assert by_field["our_deposit"].subject.startswith(f"channel {channel['channel_id']}")
    assert by_field["our_escrow"].amount == extra
    assert by_field["our_escrow"].subject == f"token network {rail.token_network}"


def test_a_channel_closed_on_chain_unnoticed_is_named_with_its_deposits(
    settled: tuple[TestNode, TestNode, ManualClock],
) -> None:
    a, b, clock = settled
    channel = the_channel(a)
    rail = b.process.rails[RAIL]  # the partner closes; A does not sync the chain
    close = rail.network.prepare_close(int(channel["onchain_id"]), None)
    rail.transactions.broadcast(close)
    assert rail.transactions.wait_confirmed(close.tx_hash).succeeded
    report = reconcile(a, clock, checks=["chain"])
    [difference] = only(report, "chain")
    assert (difference.field, difference.books, difference.actual) == ("state", "opened", "closed")
    assert difference.amount == int(channel["our_deposit"]) + int(channel["partner_deposit"])


def test_a_proof_signed_without_acknowledgement_is_named_with_the_unacknowledged_amount(
    settled: tuple[TestNode, TestNode, ManualClock],
) -> None:
    a, _b, clock = settled
    channel = the_channel(a)
    signed, more = int(channel["our_transferred"]), 123_000
    # A proof signed on the channel that no settlement delivered and the peer never receipted.
    aggregates.change_channel(
        a.node.app,
        channel["channel_id"],
        lambda c: c.record_our_proof(c.our_nonce + 1, signed + more, 0, "0x" + "00" * 32, "0x1"),
    )
    report = reconcile(a, clock, checks=["claims"])
    [difference] = only(report, "claims")
    assert difference.subject == f"channel {channel['channel_id']}"
    assert (difference.books, difference.actual) == (signed + more, signed)
    assert difference.amount == -more
    assert "acknowledged through nonce" in difference.detail
