"""Packet postings per second recorded over HTTP, beside in-process `record_packets` in the same
run, and request latency at a steady offered load.

Throughput: the same postings, in batches of 1, 100 and 1000, first by calling the application's
`record_packets` in this process, then through `POST .../packet-batches` on the service API served
on 127.0.0.1 (uvicorn on a thread, as in production), sequentially and from `--clients` threads.
Latency: 10,000 postings/s offered (batches of 100 every 10 ms, each to its own peer, bounded by
`--latency-batches` and `--latency-seconds`); latency counts from the scheduled send time, so a
slow server shows as queueing rather than being hidden by a sender that waits for it.

    python -m benchmarks.bench_http_ingest [--postings 20000] [--clients 4]
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from benchmarks.common import benchmark_database
from bootstrap.http import HttpServer
from bootstrap.node import Node, open_node
from bootstrap.settings import Settings
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry
from entrypoints.http.api.app import create_app
from entrypoints.http.api.auth import token_sha256
from entrypoints.http.api.settings import ApiClientSettings, ApiSettings, Scope
from entrypoints.http.client import ApiClient

TOKEN = "bench-connector"
PEERS = 16
BIG = 10**30


def batches(tag: str, size: int, count: int) -> list[tuple[str, list[dict[str, Any]]]]:
    return [
        (
            f"{tag}-{b}",
            [
                {"packet_id": f"{tag}-{b}-{i}", "direction": "outgoing", "amount": 1}
                for i in range(size)
            ],
        )
        for b in range(count)
    ]


def run_in_process(node: Node, tag: str, work: list[tuple[str, list[dict[str, Any]]]]) -> float:
    start = time.perf_counter()
    for n, (batch_id, entries) in enumerate(work):
        packets = [PacketEntry(e["packet_id"], Direction.OUTGOING, e["amount"]) for e in entries]
        node.app.record_packets(f"peer-{n % PEERS}", "USD", batch_id, packets)
    return time.perf_counter() - start


def run_http(url: str, work: list[tuple[str, list[dict[str, Any]]]], clients: int) -> float:
    shares = [work[i::clients] for i in range(clients)]

    def send(index: int) -> None:
        with ApiClient(url, TOKEN) as client:
            for batch_id, entries in shares[index]:
                peer = f"peer-{(hash(batch_id) % PEERS + PEERS) % PEERS}"
                client.record_packets(peer, "USD", batch_id, entries)

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, range(clients)))
    return time.perf_counter() - start


def offered_load(url: str, batches_max: int, seconds_max: float) -> tuple[list[float], float]:
    """Batches of 100 every 10 ms: each latency (ms) from its scheduled time, and the span."""
    latencies: list[float] = []
    lock = threading.Lock()
    local = threading.local()

    def send(n: int, scheduled: float) -> None:
        if not hasattr(local, "client"):
            local.client = ApiClient(url, TOKEN)
        batch_id, entries = batches(f"lat-{n}", 100, 1)[0]
        local.client.record_packets(f"peer-{n % PEERS}", "USD", batch_id, entries)
        with lock:
            latencies.append((time.perf_counter() - scheduled) * 1000)

    start = time.perf_counter()
    deadline = start + seconds_max
    with ThreadPoolExecutor(32) as pool:
        for n in range(batches_max):
            scheduled = start + n * 0.010
            if scheduled > deadline:
                break
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(send, n, scheduled)
    return latencies, time.perf_counter() - start


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postings", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--latency-batches", type=int, default=500)
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    args = parser.parse_args()
    settings = ApiSettings(
        clients={
            "bench": ApiClientSettings(
                token_sha256=token_sha256(TOKEN), scopes=frozenset({Scope.CONNECTOR})
            )
        },
        max_batch_entries=1000,
        max_body_bytes=1024 * 1024,
    )
    with (
        benchmark_database("bench_http_ingest") as url,
        open_node(Settings(database_url=url)) as node,
    ):
        for p in range(PEERS):
            node.app.open_peer_account(f"peer-{p}", Asset("USD", 2), BIG, 0, BIG)
        with HttpServer(create_app(node.app, node.read_side(), settings)) as server:
            measure(node, server.url, args)


def measure(node: Node, url: str, args: argparse.Namespace) -> None:
    print(
        f"{'batch':>6} {'postings':>9} {'in-process/s':>13} {'http 1 client/s':>16}"
        f" {f'http {args.clients} clients/s':>18}"
    )
    for size in (1, 100, 1000):
        postings = min(args.postings, 2000) if size == 1 else args.postings
        count = max(postings // size, 1)
        rates: list[float] = []
        runs: list[Callable[[list[tuple[str, list[dict[str, Any]]]]], float]] = [
            lambda w: run_in_process(node, "ip", w),
            lambda w: run_http(url, w, 1),
            lambda w: run_http(url, w, args.clients),
        ]
        for index, run in enumerate(runs):
            work = batches(f"s{size}-r{index}", size, count)
            rates.append(count * size / run(work))
        print(
            f"{size:>6} {count * size:>9} {rates[0]:>13,.0f} {rates[1]:>16,.0f} {rates[2]:>18,.0f}"
        )
    latencies, span = offered_load(url, args.latency_batches, args.latency_seconds)
    achieved = len(latencies) * 100 / span
    print(
        f"offered 10,000 postings/s (100 per batch every 10 ms): {len(latencies)} batches,"
        f" achieved {achieved:,.0f} postings/s, latency p50 {percentile(latencies, 0.5):.1f} ms,"
        f" p99 {percentile(latencies, 0.99):.1f} ms"
    )


if __name__ == "__main__":
    main()
