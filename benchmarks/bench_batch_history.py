"""One peer, single-packet batches: does the cost of a batch stay flat as the account's history
grows (issue 14)? Prints the rate of the first and last 10,000 batches, their ratio, and the
account's newest snapshot size early and at the end (batch ids are kept in `packet_batches`, not
in the account, so the snapshot should not grow), and the cold load of the account at the end: a
fresh application (empty cache) loading it, median and worst of --cold-loads.

    python -m benchmarks.bench_batch_history [--batches 100000] [--window 10000]
"""

from __future__ import annotations

import argparse
import time

from application.app import SettlementApp
from application.event_store import postgres_env
from benchmarks.common import benchmark_database
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry


def newest_snapshot_bytes(app: SettlementApp, peer: str) -> int:
    assert app.snapshots is not None
    account_id = app.peer_account(peer, "USD").id
    snapshots = list(app.snapshots.recorder.select_events(account_id, desc=True, limit=1))
    return len(snapshots[0].state) if snapshots else 0


def cold_load_seconds(url: str, peer: str) -> float:
    """Seconds for a new application (nothing cached) to load the account: the newest snapshot
    and the events after it."""
    app = SettlementApp(env=postgres_env(url))
    try:
        app.recorder.max_notification_id()  # connect first: the pool's start is not the load
        start = time.perf_counter()
        app.peer_account(peer, "USD")
        return time.perf_counter() - start
    finally:
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=100_000)
    parser.add_argument("--window", type=int, default=10_000)
    parser.add_argument("--cold-loads", type=int, default=5)
    args = parser.parse_args()
    with benchmark_database("bench_batch_history") as url:
        app = SettlementApp(env=postgres_env(url))
        app.open_peer_account("solo", Asset("USD", 2), 10**30, 0, 10**30)
        marks = [time.perf_counter()]
        early_snapshot = 0
        for n in range(args.batches):
            entry = PacketEntry(f"p{n}", Direction.OUTGOING, 1000 + n % 97)
            app.record_packets("solo", "USD", f"b{n}", [entry])
            if (n + 1) % args.window == 0:
                marks.append(time.perf_counter())
                if n + 1 == args.window:
                    early_snapshot = newest_snapshot_bytes(app, "solo")
        first = args.window / (marks[1] - marks[0])
        last = args.window / (marks[-1] - marks[-2])
        print(f"batches: {args.batches} single-packet batches, one peer")
        print(f"first {args.window}: {first:,.0f} batches/s")
        print(f"last {args.window}: {last:,.0f} batches/s")
        print(f"ratio last/first: {last / first:.2f}")
        print(f"newest snapshot after {args.window}: {early_snapshot} bytes")
        print(f"newest snapshot after {args.batches}: {newest_snapshot_bytes(app, 'solo')} bytes")
        app.close()
        loads = sorted(cold_load_seconds(url, "solo") for _ in range(args.cold_loads))
        print(
            f"cold load of the account (fresh app): median {loads[len(loads) // 2] * 1000:.1f} ms,"
            f" worst {loads[-1] * 1000:.1f} ms over {len(loads)}"
        )


if __name__ == "__main__":
    main()
