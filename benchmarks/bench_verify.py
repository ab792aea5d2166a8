"""Events per second through `settle verify`'s chain check, beside a plain scan of the events table.

The log is real events recorded through the application, copied in bulk (new aggregate ids, same
state bytes) up to --events, then chained by the event-chain projection. The plain scan streams
the same columns of the events table in position order, hashing nothing; the ratio says what the
verification costs over just reading the log. No assertion: figures to compare between runs.

    python -m benchmarks.bench_verify [--events 200000]
"""

from __future__ import annotations

import argparse
import time

import psycopg

from application.app import SettlementApp
from application.event_store import postgres_env
from benchmarks.common import benchmark_database
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry
from projections.audit_verify import verify_chain
from projections.event_chain import EVENTS_TABLE, EventChainProjection
from projections.runner import PositionedEvent

SEED_BATCHES = 50


def seed(url: str, total: int) -> None:
    app = SettlementApp(env=postgres_env(url))
    app.open_peer_account("alice", Asset("USD", 2), 10**12, 0, 10**12)
    for b in range(SEED_BATCHES):
        entries = [PacketEntry(f"p{b}-{i}", Direction.OUTGOING, 100 + i) for i in range(10)]
        app.record_packets("alice", "USD", f"b{b}", entries)
    app.close()
    with psycopg.connect(url) as conn:
        seeded = SEED_BATCHES + 1
        conn.execute(
            f"INSERT INTO {EVENTS_TABLE} (originator_id, originator_version, topic, state)"
            " SELECT gen_random_uuid(), 1, e.topic, e.state"
            f" FROM generate_series(1, %s) g JOIN {EVENTS_TABLE} e"
            " ON e.notification_id = 1 + g %% %s ORDER BY g",
            (max(total - seeded, 0), seeded),
        )


def chain_all(url: str) -> None:
    projection = EventChainProjection()
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        rows = cursor.execute(
            f"SELECT notification_id, topic FROM {EVENTS_TABLE} ORDER BY notification_id"
        ).fetchall()
        for i in range(0, len(rows), 5000):
            # The projection reads the stored rows itself; the decoded event only gives a time.
            projection.apply(cursor, [PositionedEvent(p, None, t) for p, t in rows[i : i + 5000]])


def plain_scan(url: str) -> int:
    count = 0
    with psycopg.connect(url) as conn, conn.cursor(name="scan") as cursor:
        cursor.itersize = 5000
        cursor.execute(
            "SELECT notification_id, originator_id, originator_version, topic, state"
            f" FROM {EVENTS_TABLE} ORDER BY notification_id"
        )
        for _ in cursor:
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
    with benchmark_database("bench_verify") as url:
        seed(url, args.events)
        chain_all(url)
        started = time.perf_counter()
        scanned = plain_scan(url)
        scan_seconds = time.perf_counter() - started
        started = time.perf_counter()
        with psycopg.connect(url) as conn:
            report = verify_chain(conn)
        verify_seconds = time.perf_counter() - started
    assert report.clean and report.checked == scanned
    scan_rate = scanned / scan_seconds
    verify_rate = report.checked / verify_seconds
    print(f"events:        {scanned}")
    print(f"plain scan:    {scan_rate:12,.0f} events/s ({scan_seconds:.2f} s)")
    print(f"verify chain:  {verify_rate:12,.0f} events/s ({verify_seconds:.2f} s)")
    print(f"verify / scan: {verify_rate / scan_rate:.2f}")


if __name__ == "__main__":
    main()
