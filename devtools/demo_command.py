"""`settle demo`: the main job on embedded defaults."""

from __future__ import annotations

import argparse
import uuid
from typing import Any

from rich.console import Console
from rich.progress import Progress

from application.clock import system_clock
from bootstrap.node import open_node
from devtools.demo import PEERS, Demo, DemoReport
from entrypoints.cli.output import EXIT_FAILURE, EXIT_OK, emit, emit_object

NOT_HERE = [
    "Kafka publishing: the demo starts no broker; `settle kafka publish` sends the history to one",
    "TigerBeetle: the demo keeps the ledger in PostgreSQL (SETTLE_LEDGER__BACKEND=tigerbeetle)",
]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("demo", help="run the whole flow on embedded defaults")
    p.add_argument("--batches", type=int, default=8, help="batches per peer (default 8)")
    p.add_argument("--batch-size", type=int, default=250, help="packets per batch (default 250)")
    p.set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    console = Console(quiet=args.json)
    run_id = uuid.uuid4().hex[:8]
    report = DemoReport()
    with open_node(args.settings) as node:
        demo = Demo(node, run_id, system_clock, say=console.print)
        try:
            console.print(f"[bold]settlement-ledger demo[/bold] run {run_id}: database ready")
            demo.start_network()
            demo.register_peers()
            with Progress(console=console, transient=False) as progress:
                task = progress.add_task(
                    "recording packet batches", total=args.batches * len(PEERS)
                )
                demo.stream(report, args.batches, args.batch_size, lambda: progress.advance(task))
            console.print(
                f"recorded {report.packets} packets in {report.batches} batches;"
                f" thresholds crossed: {report.crossings}"
            )
            demo.settle()
            settlements = node.read_side().all_settlements()
            done = [s for s in settlements if s["status"] == "completed"]
            console.print(f"settlements: {len(settlements)} requested, {len(done)} completed")
            report.checks = demo.check()
            balances = node.read_side().all_balances()
            balances = [
                {k: b[k] for k in ("peer_id", "asset_code", "payable", "receivable", "in_flight")}
                for b in balances
            ]
            if args.json:
                emit_object(
                    {
                        "packets": report.packets,
                        "batches": report.batches,
                        "crossings": report.crossings,
                        "checks": report.checks,
                        "balances": balances,
                        "settlements": settlements,
                    },
                    as_json=True,
                )
            else:
                emit(balances, as_json=False, title="balances")
                emit(
                    [
                        {k: s[k] for k in ("peer_id", "amount", "status", "attempts", "rail")}
                        for s in settlements
                    ],
                    as_json=False,
                    title="settlements",
                )
        finally:
            demo.close()
    for name, ok in report.checks.items():
        console.print(f"  {'[green]ok[/green]' if ok else '[red]DIFFERS[/red]'}  {name}")
    console.print("[yellow]not part of this demo[/yellow]:")
    for item in NOT_HERE:
        console.print(f"  - {item}")
    return EXIT_OK if report.checks and all(report.checks.values()) else EXIT_FAILURE
