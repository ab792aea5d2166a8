"""End to end: packet postings per second from the first batch recorded to the last one posted on
the PostgreSQL ledger, with every follower running as `settle run` runs them (issue 14).

The node is built the way `settle run` builds it (`bootstrap.node.open_node`, then
`bootstrap.service.build_service` and `run` in a thread): the registry in `bootstrap/followers.py`
decides the followers (balances, channels, settlements, event chain, settlement monitor, fraud
rules, ledger postings; no rails, no Kafka), each woken by new events. This thread records
batches of --batch-size packets for --peers peers as fast as the application takes them; the
clock stops when the ledger postings follower's position reaches the last event. The floor, in
the same run and database, is psycopg COPY of one row per posting, one transaction per batch
(as in bench_recording). No assertion: figures to compare.

    python -m benchmarks.bench_end_to_end [--postings 200000] [--batch-size 1000] [--peers 10]
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable

import psycopg

from application.clock import system_clock
from benchmarks.bench_recording import copy_floor, make_batches
from benchmarks.common import benchmark_database
from bootstrap import service as node_service
from bootstrap.node import Node, open_node
from bootstrap.settings import Settings
from domain.money import Asset
from projections.ledger_postings import LedgerPostingsProjection

USD = Asset("USD", 2)


def positions(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT projection, position FROM projection_tracking").fetchall()
    return {str(name): int(position) for name, position in rows}


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"benchmark: timed out waiting for {what}")
        time.sleep(0.005)


def measure(node: Node, args: argparse.Namespace) -> tuple[float, float, dict[str, int]]:
    """Seconds until everything was recorded, and until the ledger posted it all; the followers'
    positions at that moment (the read models may still be catching up)."""
    peers = [f"peer-{p:03d}" for p in range(args.peers)]
    for peer in peers:  # thresholds out of reach: no settlement is requested
        node.app.open_peer_account(peer, USD, 10**30, 0, 10**30)
    batches = make_batches(args.postings, args.batch_size, "e2e")
    service = node_service.build_service(node, system_clock)
    stop = threading.Event()
    runner = threading.Thread(target=node_service.run, args=(service, stop), daemon=True)
    runner.start()
    ledger = LedgerPostingsProjection.name
    url = node.database_url
    head = node.app.recorder.max_notification_id() or 0
    wait_for(lambda: positions(url).get(ledger, 0) >= head, 120, "the ledger to catch up")
    try:
        start = time.perf_counter()
        for n, entries in enumerate(batches):
            node.app.record_packets(peers[n % len(peers)], USD.code, f"e2e-b{n}", entries)
        recorded = time.perf_counter() - start
        head = node.app.recorder.max_notification_id() or 0
        wait_for(lambda: positions(url).get(ledger, 0) >= head, 900, "the ledger to post all")
        posted = time.perf_counter() - start
        at_the_end = positions(url)
    finally:
        stop.set()
        runner.join(timeout=60)
    return recorded, posted, {name: head - position for name, position in at_the_end.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postings", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--peers", type=int, default=10)
    args = parser.parse_args()
    with benchmark_database("bench_end_to_end") as url:
        floor = args.postings / copy_floor(url, make_batches(args.postings, args.batch_size, "f"))
        with open_node(Settings(database_url=url)) as node:
            recorded, posted, lags = measure(node, args)
    rate = args.postings / posted
    print(f"postings: {args.postings} in batches of {args.batch_size}, {args.peers} peers")
    print(f"recorded (events committed):      {args.postings / recorded:>10,.0f} postings/s")
    print(f"end to end (ledger posted all):   {rate:>10,.0f} postings/s")
    print(f"COPY floor, same run:             {floor:>10,.0f} postings/s")
    print(f"ratio end to end / floor: {rate / floor:.2f}; goal >= 100,000 postings/s")
    print("events behind the head when the ledger finished, per follower:")
    for name, lag in sorted(lags.items()):
        print(f"  {name:<28} {lag}")


if __name__ == "__main__":
    main()
