"""A flooding client against a well-behaved one, on the real service API on 127.0.0.1.

The calm client records one small packet batch every `--interval` seconds for its peer; the
flooder sends batches for its peer as fast as `--flood-processes` processes can, and that peer is
limited to `--flood-rate` batches per second (a per-peer override; the calm peer's limit is
roomy). Phase one runs the calm client alone, phase two beside the flood; the report gives the
calm client's latency (p50, p99, max) in both, and the flooder's admitted and refused counts and
how fast a refusal comes back.

    python -m benchmarks.bench_rate_limits [--seconds 5] [--flood-processes 2] [--flood-rate 10]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from application.rate_limiting import Rate, RateLimitSettings, RequestKind
from benchmarks.common import benchmark_database
from bootstrap.http import HttpServer
from bootstrap.node import open_node
from bootstrap.settings import Settings
from domain.money import Asset
from entrypoints.http.api.app import create_app
from entrypoints.http.api.auth import token_sha256
from entrypoints.http.api.settings import ApiClientSettings, ApiSettings, Scope

TOKENS = {"calm": "bench-calm", "flood": "bench-flood"}
BIG = 10**30


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    refused_latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    def add(self, status: int, seconds: float) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        (self.refused_latencies if status == 429 else self.latencies).append(seconds)


def _post(http: httpx.Client, token: str, peer: str, batch_id: str) -> int:
    body = {
        "batch_id": batch_id,
        "entries": [{"packet_id": batch_id, "direction": "outgoing", "amount": 1}],
    }
    response = http.post(
        f"/v1/peers/{peer}/assets/USD/packet-batches",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.status_code


def calm(url: str, tag: str, seconds: float, interval: float) -> Tally:
    tally = Tally()
    with httpx.Client(base_url=url) as http:
        deadline = time.monotonic() + seconds
        index = 0
        while time.monotonic() < deadline:
            start = time.perf_counter()
            tally.add(
                _post(http, TOKENS["calm"], "calm", f"{tag}-{index}"), time.perf_counter() - start
            )
            index += 1
            time.sleep(max(0.0, interval - (time.perf_counter() - start)))
    return tally


def flood(url: str, seconds: float, worker: int, results: Any) -> None:
    """One flooding process (its own interpreter, so its work does not slow the server's)."""
    tally = Tally()
    with httpx.Client(base_url=url) as http:
        deadline = time.monotonic() + seconds
        index = 0
        while time.monotonic() < deadline:
            start = time.perf_counter()
            status = _post(http, TOKENS["flood"], "flood", f"flood-{worker}-{index}")
            tally.add(status, time.perf_counter() - start)
            index += 1
    results.put(tally)


def _summary(name: str, values: list[float]) -> str:
    if not values:
        return f"{name}: none"
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{name}: n={len(values)} p50={statistics.median(ordered) * 1000:.1f} ms"
        f" p99={p99 * 1000:.1f} ms max={ordered[-1] * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--flood-processes", type=int, default=2)
    parser.add_argument("--flood-rate", type=float, default=10.0)
    args = parser.parse_args()
    clients = {
        name: ApiClientSettings(token_sha256=token_sha256(t), scopes=frozenset({Scope.CONNECTOR}))
        for name, t in TOKENS.items()
    }
    roomy = Rate(per_second=100_000, burst=100_000)
    flood_rate = Rate(per_second=args.flood_rate, burst=max(1, int(args.flood_rate)))
    limits = RateLimitSettings(
        total=roomy,
        per_client={RequestKind.PACKETS: roomy},
        per_peer={RequestKind.PACKETS: roomy},
        peers={"flood": {RequestKind.PACKETS: flood_rate}},
    )
    with (
        benchmark_database("bench_rate_limits") as url,
        open_node(Settings(database_url=url)) as node,
    ):
        for peer in ("calm", "flood"):
            node.app.open_peer_account(peer, Asset("USD", 2), BIG, 0, BIG)
        asgi = create_app(
            node.app, node.read_side(), ApiSettings(clients=clients, rate_limits=limits)
        )
        with HttpServer(asgi) as server:
            alone = calm(server.url, "alone", args.seconds, args.interval)
            spawn = multiprocessing.get_context("spawn")
            results = spawn.Queue()
            workers = [
                spawn.Process(target=flood, args=(server.url, args.seconds + 2, i, results))
                for i in range(args.flood_processes)
            ]
            for worker in workers:
                worker.start()
            try:
                time.sleep(1.5)  # the flooders' interpreters start before the calm client does
                beside = calm(server.url, "beside", args.seconds, args.interval)
                flooded = Tally()
                for _ in workers:
                    part: Tally = results.get(timeout=120)
                    flooded.latencies += part.latencies
                    flooded.refused_latencies += part.refused_latencies
                    for status, count in part.statuses.items():
                        flooded.statuses[status] = flooded.statuses.get(status, 0) + count
            finally:
                for worker in workers:
                    worker.join(timeout=60)
    print(_summary("calm alone      ", alone.latencies), alone.statuses)
    print(_summary("calm beside flood", beside.latencies), beside.statuses)
    print(_summary("flood admitted   ", flooded.latencies))
    print(_summary("flood refused    ", flooded.refused_latencies), flooded.statuses)


if __name__ == "__main__":
    main()
