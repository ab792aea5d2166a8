"""`settle demo`: the main job on embedded defaults."""

from __future__ import annotations

import argparse
import uuid
from typing import Any

from rich.console import Console
from rich.progress import Progress

from application import queries
from application.cli.output import EXIT_OK, emit
from application.clock import system_clock
from application.demo import PEERS, run_demo
from application.wiring import open_node

NOT_YET_BUILT = [
    "channels opened and deposits made on the in-process EVM chain",
    "ledger transfers posted to the double-entry ledger",
    "events published to Kafka",
    "settlements executed: claims signed, delivered and completed",
]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("demo", help="run the demo on embedded defaults")
    p.add_argument("--batches", type=int, default=20, help="batches per peer (default 20)")
    p.add_argument("--batch-size", type=int, default=250, help="packets per batch (default 250)")
    p.set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    console = Console(quiet=args.json)
    run_id = uuid.uuid4().hex[:8]
    with open_node(args.settings) as node:
        console.print(f"[bold]settlement-ledger demo[/bold] run {run_id}, database ready")
        total = args.batches * len(PEERS)
        with Progress(console=console, transient=False) as progress:
            task = progress.add_task("recording packet batches", total=total)
            report = run_demo(
                node,
                run_id,
                system_clock,
                batches_per_peer=args.batches,
                batch_size=args.batch_size,
                on_batch=lambda: progress.advance(task),
            )
        console.print(
            f"recorded {report.packets} packets in {report.batches} batches;"
            f" thresholds crossed: {report.crossings}"
        )
        settlements = queries.settlements(node.database_url)
        console.print(f"settlements requested so far: {len(settlements)}")
        emit(queries.balances(node.database_url), as_json=args.json, title="balances")
        emit(settlements, as_json=args.json, title="settlements")
    console.print("[yellow]not built yet[/yellow] (later capabilities of this project):")
    for item in NOT_YET_BUILT:
        console.print(f"  - {item}")
    return EXIT_OK
