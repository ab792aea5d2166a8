"""The event store on real PostgreSQL: many processes may open it at once, and a batch of any
size the limits allow is written whole (the library's pipelined insert hung past a few hundred
kB)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg

from application.app import SettlementApp
from application.event_store import postgres_env
from domain.money import Asset
from domain.peer_account import MAX_BATCH_ENTRIES, Direction, PacketEntry

STARTERS = 20


def test_twenty_starts_at_once_on_a_fresh_database_all_succeed(empty_database_url: str) -> None:
    barrier = threading.Barrier(STARTERS)

    def start(n: int) -> str:
        env = postgres_env(empty_database_url, pool_size=2)
        barrier.wait()  # every starter sets up the tables at the same moment
        app = SettlementApp(env=env)
        try:
            app.open_peer_account(f"peer-{n}", Asset("USD", 2), 100, 0, 100)
            return app.peer_account(f"peer-{n}", "USD").peer_id
        finally:
            app.close()

    with ThreadPoolExecutor(STARTERS) as pool:
        started = list(pool.map(start, range(STARTERS)))

    assert started == [f"peer-{n}" for n in range(STARTERS)]
    with psycopg.connect(empty_database_url) as conn:
        row = conn.execute("SELECT count(*) FROM settlementledger_events").fetchone()
    assert row == (STARTERS,)


def _largest_batch(tag: str) -> list[PacketEntry]:
    """The most entries the limit may allow, each with the longest packet id (about 14 MB)."""
    return [
        PacketEntry(f"{tag}-{i:09d}".ljust(128, "x"), Direction.OUTGOING, 10**30 + i)
        for i in range(MAX_BATCH_ENTRIES)
    ]


def test_the_largest_batch_the_limits_allow_is_written_and_read_back(database_url: str) -> None:
    entries = _largest_batch("big")
    app = SettlementApp(env=postgres_env(database_url))
    try:
        app.open_peer_account("p", Asset("USD", 2), 10**36, 0, 10**36)
        result = app.record_packets("p", "USD", "b1", entries)
        again = app.record_packets("p", "USD", "b1", entries)
    finally:
        app.close()
    assert result.outgoing_total == sum(e.amount for e in entries)
    assert again.duplicate and again.outgoing_total == result.outgoing_total
    reopened = SettlementApp(env=postgres_env(database_url))
    try:
        [_, recorded] = reopened.history(reopened.peer_account("p", "USD").id)[:2]
    finally:
        reopened.close()
    assert len(recorded.entries) == MAX_BATCH_ENTRIES
    assert recorded.entries[-1] == [entries[-1].packet_id, "outgoing", entries[-1].amount]
