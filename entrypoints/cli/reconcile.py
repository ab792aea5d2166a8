"""`settle reconcile [--json] [--peer P]`: every check of the books, every difference with its
amount.

Read models vs a replay of the events, the ledger vs the read models, the chain vs the channel
books (with the configured rails), and our signed proofs vs the peer's acknowledgements. The run
is recorded as an event. Exit codes for cron: 0 clean, 1 differences, 2 could not run.
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

import psycopg

from application.clock import system_clock
from application.reconciliation import ReconciliationReport
from application.reconciliation_checks import CHECKS
from bootstrap.node import open_node
from bootstrap.reconciliation import build_reconciler, configured_rails
from entrypoints.cli.output import EXIT_USAGE, BadInput, emit, emit_object, fail


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("reconcile", help="compare the books with the events, ledger, chain")
    p.add_argument("--peer", help="only this peer (the replay and escrow checks cover everyone)")
    p.add_argument("--check", action="append", choices=CHECKS, help="only this check (repeatable)")
    p.add_argument(
        "--claim-grace",
        type=int,
        default=900,
        metavar="SECONDS",
        help="how long a signed proof may wait for its acknowledgement (default 900)",
    )
    # Also accepted after the subcommand; SUPPRESS keeps `settle --json reconcile` working.
    p.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    p.set_defaults(handler=cmd_reconcile)


def cmd_reconcile(args: argparse.Namespace) -> int:
    if args.claim_grace < 0:
        raise BadInput("--claim-grace", f"{args.claim_grace} is negative")
    grace = timedelta(seconds=args.claim_grace)
    try:
        with open_node(args.settings) as node:
            rails = configured_rails(node)
            with build_reconciler(node, rails, system_clock, claim_grace=grace) as reconciler:
                report = reconciler.run(args.peer, args.check or CHECKS)
    except (OSError, psycopg.Error) as error:
        # Cron tells "could not run" (2) from "found differences" (1).
        return fail(f"reconcile: could not run: {type(error).__name__}: {error}", EXIT_USAGE)
    _print(report, as_json=args.json)
    return report.exit_code


def _print(report: ReconciliationReport, *, as_json: bool) -> None:
    if as_json:
        emit_object(report.as_dict(), as_json=True)
        return
    checked = ", ".join(f"{c} ({n})" for c, n in report.checked.items()) or "none"
    print(f"reconciliation {report.run_key}: checked {checked}")
    for check, why in {**report.skipped, **report.failed}.items():
        print(f"  {check}: not checked: {why}")
    if report.differences:
        rows = [d.as_row() for d in report.differences]
        emit(rows, as_json=False, title=f"{len(rows)} difference(s)")
    elif not report.failed:
        print("no differences")
