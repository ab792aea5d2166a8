"""`settle ledger balances [--peer P]`: the ledger's balances next to the read model's.

Both sides are first brought up to the head of the event log (the read models and the
ledger postings projection), so a difference is a real one; the exit code is then 1.
"""

from __future__ import annotations

import argparse
from typing import Any

from adapters.ledger.errors import LedgerUnavailable, UnknownAsset
from adapters.ledger.factory import build_chart, build_ledger
from adapters.ledger.reconcile import compare_balances
from bootstrap.node import open_node
from entrypoints.cli.output import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, emit, fail
from projections.ledger_postings import LedgerPostingsProjection


def register(subparsers: Any) -> None:
    ledger = subparsers.add_parser("ledger", help="the double-entry ledger")
    commands = ledger.add_subparsers(dest="ledger_command", required=True)
    p = commands.add_parser("balances", help="ledger balances next to the read model's")
    p.add_argument("--peer", help="only this peer")
    p.set_defaults(handler=cmd_balances)


def cmd_balances(args: argparse.Namespace) -> int:
    settings = args.settings.ledger
    with open_node(args.settings) as node:
        ledger = build_ledger(settings, node.database_url)
        try:
            chart = build_chart(settings)
            node.runner(LedgerPostingsProjection(ledger, chart)).catch_up()
            node.catch_up_read_models()
            rows = node.read_side().all_balances(args.peer)
            comparisons = compare_balances(ledger, chart, rows)
        except UnknownAsset as error:
            return fail(str(error), EXIT_USAGE)
        except LedgerUnavailable as error:
            return fail(str(error), EXIT_FAILURE)
        finally:
            ledger.close()
    if args.peer is not None and not comparisons:
        return fail(f"ledger balances: no accounts for --peer {args.peer!r}", EXIT_FAILURE)
    emit([c.as_row() for c in comparisons], as_json=args.json, title="ledger balances")
    return EXIT_OK if all(c.matches for c in comparisons) else EXIT_FAILURE
