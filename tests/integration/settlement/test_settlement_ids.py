"""A settlement id is reserved once, on PostgreSQL, although the peer account forgets finished
settlements (issue 14): every reservation is saved with the creation of the `Settlement` of that
id (or on one still requested), so a finished settlement's id is refused from the settlement that
remains, and two processes reserving one id at once reserve it once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from uuid import UUID

import psycopg
import pytest

from application.app import SettlementApp
from application.event_store import postgres_env
from domain.errors import IllegalTransition, SettlementIdReused
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry, PeerAccount
from domain.settlement import SettlementStatus

AT = datetime(2026, 12, 1, tzinfo=UTC)
BOB = PeerAccount.create_id("bob", "USD")


def stored_events(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM settlementledger_events").fetchone()
    assert row is not None
    return int(row[0])


def reservations(app: SettlementApp) -> list[UUID]:
    return [
        e.settlement_id for e in app.history(BOB) if isinstance(e, PeerAccount.SettlementReserved)
    ]


def open_bob(app: SettlementApp, payable: int) -> None:
    app.open_peer_account("bob", Asset("USD", 2), 1000, 100, 10**6)
    app.record_packets("bob", "USD", "b1", [PacketEntry("p1", Direction.OUTGOING, payable)])


def test_a_finished_settlements_id_is_not_reserved_again(database_url: str) -> None:
    """The next derived id (`bob:settlement:1`) names a settlement that was reserved and timed
    out: the account no longer holds it, the settlement refuses it, and nothing is written."""
    app = SettlementApp(env=postgres_env(database_url))
    try:
        open_bob(app, 1500)
        taken = app.request_settlement(f"{BOB}:settlement:1", BOB, 300, AT)
        app.reserve_settlement(taken)  # the account's first settlement: its sequence is now 1
        app.time_out_settlement(taken, AT)
        assert app.settlement(taken).status == SettlementStatus.TIMED_OUT
        account = app.peer_account("bob", "USD")
        assert (account.settlement_sequence, account.settlements) == (1, {})
        before = stored_events(database_url)
        fresh = SettlementApp(env=postgres_env(database_url))  # another process: no cache
        try:
            with pytest.raises(SettlementIdReused) as refused:
                fresh.settle_if_due(BOB, AT)
            with pytest.raises(IllegalTransition):
                fresh.reserve_settlement(taken)  # the step again, on the finished settlement
        finally:
            fresh.close()
        assert refused.value.settlement_id == taken
        assert stored_events(database_url) == before
        assert reservations(app) == [taken]
        assert app.peer_account("bob", "USD").payable == 1500
    finally:
        app.close()


def first_call_waits(app: SettlementApp, barrier: threading.Barrier) -> None:
    """`app.exists` (the reuse check, made just before the save) waits for the other process's
    on its first call: both have decided on the same state before either saves."""
    exists: Callable[[UUID], bool] = app.exists
    waited: list[bool] = []

    def exists_after_the_other(aggregate_id: UUID) -> bool:
        if not waited:
            waited.append(True)
            barrier.wait(timeout=60)  # a guard against a hang, not a timing
        return exists(aggregate_id)

    app.exists = exists_after_the_other  # type: ignore[method-assign]


def test_two_processes_reserving_one_id_at_once_reserve_it_once(database_url: str) -> None:
    apps = [SettlementApp(env=postgres_env(database_url, pool_size=2)) for _ in range(2)]
    try:
        open_bob(apps[0], 1500)
        outcomes = []
        for _ in range(5):
            barrier = threading.Barrier(2)
            for app in apps:
                app.peer_account("bob", "USD")  # both at the same version of the account
                first_call_waits(app, barrier)
            with ThreadPoolExecutor(2) as pool:
                results = list(pool.map(lambda a: a.settle_if_due(BOB, AT), apps))
            [settlement_id] = [r for r in results if r is not None]
            outcomes.append((sorted(map(str, results)), settlement_id))
            apps[0].time_out_settlement(settlement_id, AT)  # payable is due again
        ids = [settlement_id for _, settlement_id in outcomes]
        assert all(results == sorted([str(i), "None"]) for results, i in outcomes)
        assert reservations(apps[0]) == ids and len(set(ids)) == 5
        for settlement_id in ids:
            assert [type(e).__name__ for e in apps[0].history(settlement_id)][:1] == ["Requested"]
        assert apps[0].peer_account("bob", "USD").settlement_sequence == 5
    finally:
        for app in apps:
            app.close()


def test_a_reservation_decided_before_the_other_process_saved_is_decided_again(
    database_url: str,
) -> None:
    """Process B decides on the account as it was, then A reserves the same id and saves: B
    finds the settlement, but its decision was on a state since changed, so it is not refused;
    it runs again on fresh state, where the account is not due (A's settlement is in flight)."""
    a, b = (SettlementApp(env=postgres_env(database_url, pool_size=2)) for _ in range(2))
    try:
        open_bob(a, 1500)
        b.peer_account("bob", "USD")
        decided, saved = threading.Event(), threading.Event()
        exists = b.exists
        checks: list[bool] = []

        def exists_after_a_saved(aggregate_id: UUID) -> bool:
            if not checks:
                decided.set()
                saved.wait(timeout=60)  # a guard against a hang, not a timing
            checks.append(exists(aggregate_id))
            return checks[-1]

        b.exists = exists_after_a_saved  # type: ignore[method-assign]
        with ThreadPoolExecutor(1) as pool:
            b_result = pool.submit(b.settle_if_due, BOB, AT)
            assert decided.wait(timeout=60)
            a_result = a.settle_if_due(BOB, AT)
            saved.set()
            assert b_result.result() is None
        assert a_result is not None and checks == [True]
        assert reservations(a) == [a_result]
        assert a.peer_account("bob", "USD").settlement_sequence == 1
    finally:
        a.close()
        b.close()
