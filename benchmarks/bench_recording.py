"""Packet postings per second durably recorded, beside the raw COPY floor measured in the same run.

Durably recorded: the event committed and the balances projection caught up. The floor is
psycopg COPY of one row per packet posting (packet id, direction, amount: the size of a
posting), one committed transaction per batch, into the same PostgreSQL.

    python -m benchmarks.bench_recording [--postings 100000] [--batch-sizes 1,100,1000]
"""

from __future__ import annotations

import argparse
import os

import psycopg

from application.app import SettlementApp
from application.event_store import postgres_env
from benchmarks.common import benchmark_database, timed
from bootstrap.node import application_pool
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry
from projections.balances import BalancesProjection
from projections.runner import ProjectionRunner

PEERS = 10


def make_batches(total: int, batch_size: int, tag: str) -> list[list[PacketEntry]]:
    batches = []
    for b in range(total // batch_size):
        batches.append(
            [
                PacketEntry(
                    f"{tag}-{b}-{i}",
                    Direction.OUTGOING if i % 3 else Direction.INCOMING,
                    1000 + (i % 97),
                )
                for i in range(batch_size)
            ]
        )
    return batches


def copy_floor(url: str, batches: list[list[PacketEntry]]) -> float:
    with psycopg.connect(url) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS raw_postings"
            " (packet_id text, direction text, amount bigint)"
        )
        conn.commit()

        def run() -> None:
            statement = "COPY raw_postings (packet_id, direction, amount) FROM STDIN"
            for entries in batches:
                with conn.transaction(), conn.cursor() as cur, cur.copy(statement) as copy:
                    for e in entries:
                        copy.write_row((e.packet_id, e.direction.value, e.amount))

        return timed(run)


def system(url: str, batches: list[list[PacketEntry]], tag: str) -> float:
    app = SettlementApp(env=postgres_env(url))
    for p in range(PEERS):
        app.open_peer_account(f"{tag}-peer{p}", Asset("USD", 2), 10**30, 0, 10**30)
    runner = ProjectionRunner(app, application_pool(app), BalancesProjection(), batch_size=500)
    runner.catch_up()

    def run() -> None:
        for n, entries in enumerate(batches):
            app.record_packets(f"{tag}-peer{n % PEERS}", "USD", f"{tag}-b{n}", entries)
            if n % 20 == 19:
                runner.catch_up()
        runner.catch_up()

    elapsed = timed(run)
    runner.close()
    app.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postings", type=int, default=100_000)
    parser.add_argument("--batch-sizes", default="1,100,1000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.batch_sizes.split(",")]
    print(f"{'batch':>6} {'postings':>9} {'system/s':>12} {'COPY floor/s':>13} {'ratio':>7}")
    with benchmark_database("bench_recording") as url:
        for size in sizes:
            postings = min(args.postings, 5_000) if size == 1 else args.postings
            batches = make_batches(postings, size, f"s{size}")
            floor = postings / copy_floor(url, make_batches(postings, size, f"f{size}"))
            rate = postings / system(url, batches, f"s{size}")
            print(
                f"{size:>6} {postings:>9} {rate:>12,.0f} {floor:>13,.0f} {rate / floor:>7.1%}"
                f"   load {os.getloadavg()[0]:.2f}"
            )


if __name__ == "__main__":
    main()
