"""Transfers per second through the ledger postings projection, per backend, at request sizes
100 and 8189, beside each backend's raw floor measured in the same run.

    python -m benchmarks.bench_ledger [--transfers 50000]

Projection: PacketsRecorded events of N packets each (one event per runner batch), so every
ledger request carries N transfers; the figure includes reading and decoding the events,
planning, posting, checking results and committing the tracking record.
Raw floor: PostgreSQL COPY of pre-built rows into ledger_transfers; TigerBeetle, the client's
create_transfers with pre-built batches of 8189, measured before and after the other rows
(their mean). TigerBeetle also shows the adapter alone (port Transfers built beforehand) and
arrays packed beforehand (the server's own pace). TigerBeetle runs when a `tigerbeetle`
binary is on PATH (a replica is started here) or TIGERBEETLE_ADDRESS is set.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TypeVar
from uuid import UUID

import psycopg
import tigerbeetle as tb

from adapters.ledger.chart import Chart
from adapters.ledger.port import Account, LedgerPort, Transfer
from adapters.ledger.postgres_backend import PostgresLedger
from adapters.ledger.postgres_rows import TRANSFER_COLUMNS, copy_rows
from adapters.ledger.tigerbeetle_backend import TigerBeetleLedger
from adapters.ledger.tigerbeetle_wire import pack_transfers
from application.app import SettlementApp
from application.event_store import postgres_env
from benchmarks.common import benchmark_database
from bootstrap.node import application_pool
from devtools.tigerbeetle_replica import LocalReplica
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry
from projections.ledger_postings import LedgerPostingsProjection
from projections.runner import ProjectionRunner

T = TypeVar("T")

REQUEST_SIZES = (100, 8189)


def through_projection(
    app: SettlementApp, url: str, ledger: LedgerPort, size: int, total: int
) -> float:
    """Transfers per second posted by the projection, `size` transfers per ledger request."""
    peer = f"bench-{secrets.token_hex(4)}"
    projection = LedgerPostingsProjection(ledger, Chart())
    projection.name = f"ledger_bench_{peer}"
    runner = ProjectionRunner(app, application_pool(app), projection, batch_size=1)
    try:
        app.open_peer_account(peer, Asset("USD", 2), 10**18, 0, 10**18)
        runner.catch_up()  # earlier events and the account's opening: not timed
        events = max(1, total // size)
        for batch in range(events):
            entries = [
                PacketEntry(f"{batch}-{i}", Direction.OUTGOING, 1 + i % 97) for i in range(size)
            ]
            app.record_packets(peer, "USD", f"b{batch}", entries)
        started = time.perf_counter()
        runner.catch_up()
        elapsed = time.perf_counter() - started
    finally:
        runner.close()
    return events * size / elapsed


def postgres_floor(url: str, total: int) -> float:
    """COPY of pre-built transfer rows: what the table takes with no rules at all."""
    debit, credit, zero = UUID(int=secrets.randbits(127) + 1), UUID(int=2), UUID(int=0)
    # Negative timestamps stay clear of the ledger's own sequence.
    base = -secrets.randbits(40) * 10**6
    rows = [
        (
            UUID(int=secrets.randbits(127) + 1),
            debit,
            credit,
            5,
            zero,
            zero,
            0,
            0,
            0,
            1,
            1,
            0,
            base - i,
        )
        for i in range(total)
    ]
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        started = time.perf_counter()
        copy_rows(cur, "ledger_transfers", TRANSFER_COLUMNS, rows)
        conn.commit()
        return total / (time.perf_counter() - started)


def tigerbeetle_accounts(ledger: TigerBeetleLedger) -> tuple[int, int]:
    debit, credit = secrets.randbits(127) + 1, secrets.randbits(127) + 1
    ledger.create_accounts(
        [Account(id=debit, ledger=1, code=1), Account(id=credit, ledger=1, code=1)]
    )
    return debit, credit


def tigerbeetle_batches(
    ledger: TigerBeetleLedger, total: int, make: Callable[..., T]
) -> list[list[T]]:
    """`total` transfers of 5 between two fresh accounts, in batches of 8189, built by `make`
    (the client's own type, or the port's)."""
    debit, credit = tigerbeetle_accounts(ledger)
    return [
        [
            make(
                id=secrets.randbits(127) + 1,
                debit_account_id=debit,
                credit_account_id=credit,
                amount=5,
                ledger=1,
                code=1,
            )
            for _ in range(8189)
        ]
        for _ in range(max(1, total // 8189))
    ]


def tigerbeetle_floor(ledger: TigerBeetleLedger, total: int) -> float:
    """The client's create_transfers with pre-built batches of 8189."""
    batches = tigerbeetle_batches(ledger, total, tb.Transfer)
    started = time.perf_counter()
    for batch in batches:
        ledger.create_native_transfers(batch)
    return sum(map(len, batches)) / (time.perf_counter() - started)


def tigerbeetle_adapter(ledger: TigerBeetleLedger, total: int, *, packed: bool) -> float:
    """The adapter's create_transfers (checks, flag screen, packing) with port Transfers of
    8189 built beforehand: the projection's figure without events and planning. `packed`:
    the arrays are packed beforehand too and sent as they are, the server's own pace."""
    batches = tigerbeetle_batches(ledger, total, Transfer)
    arrays = [pack_transfers(batch) for batch in batches] if packed else []
    started = time.perf_counter()
    if packed:
        for array in arrays:
            ledger.create_packed_transfers(array)
    else:
        for batch in batches:
            ledger.create_transfers(batch)
    return sum(map(len, batches)) / (time.perf_counter() - started)


def tigerbeetle_figures(
    app: SettlementApp, url: str, ledger: TigerBeetleLedger, total: int
) -> list[tuple[str, float]]:
    """The client floor, the adapter alone, pre-packed arrays, then the projection rows."""
    before = tigerbeetle_floor(ledger, total)
    figures = [
        ("adapter, pre-built 8189", tigerbeetle_adapter(ledger, total, packed=False)),
        ("pre-packed 8189", tigerbeetle_adapter(ledger, total, packed=True)),
    ]
    for size in REQUEST_SIZES:
        rate = through_projection(app, url, ledger, size, total)
        figures.append((f"projection, {size} transfers per request", rate))
    # Other work drifts the load on a shared machine: the floor is measured again after
    # the projection rows, and every ratio uses the mean of the two.
    after = tigerbeetle_floor(ledger, total)
    label = f"raw floor: client, pre-built 8189 (before {before:,.0f}, after {after:,.0f})"
    return [(label, (before + after) / 2), *figures]


def run_backend(name: str, ledger: LedgerPort, url: str, total: int) -> list[tuple[str, float]]:
    app = SettlementApp(env=postgres_env(url))
    try:
        if isinstance(ledger, TigerBeetleLedger):
            return tigerbeetle_figures(app, url, ledger, total)
        figures = [("raw floor: COPY into ledger_transfers", postgres_floor(url, total))]
        for size in REQUEST_SIZES:
            rate = through_projection(app, url, ledger, size, total)
            figures.append((f"projection, {size} transfers per request", rate))
        return figures
    finally:
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transfers", type=int, default=50_000)
    args = parser.parse_args()
    results: dict[str, list[tuple[str, float]]] = {}
    with ExitStack() as stack:
        url = stack.enter_context(benchmark_database("bench_ledger"))
        postgres = PostgresLedger(url, deadline_seconds=60)
        stack.callback(postgres.close)
        results["postgres"] = run_backend("postgres", postgres, url, args.transfers)
        address = os.environ.get("TIGERBEETLE_ADDRESS")
        binary = shutil.which("tigerbeetle")
        if not address and binary:
            workdir = Path(tempfile.mkdtemp(prefix="bench-tb-"))
            stack.callback(shutil.rmtree, workdir, True)
            address = stack.enter_context(LocalReplica(binary, workdir)).address
        if address:
            cluster = int(os.environ.get("TIGERBEETLE_CLUSTER_ID", "0"))
            tiger = TigerBeetleLedger(cluster, address, deadline_seconds=60)
            stack.callback(tiger.close)
            results["tigerbeetle"] = run_backend("tigerbeetle", tiger, url, args.transfers)
        else:
            print("tigerbeetle: skipped (no tigerbeetle binary on PATH, TIGERBEETLE_ADDRESS unset)")
    for backend, figures in results.items():
        floor = figures[0][1]
        print(f"{backend}:")
        for label, rate in figures:
            print(f"  {label:<52} {rate:>12,.0f} transfers/s  {rate / floor:6.2f}x floor")


if __name__ == "__main__":
    main()
