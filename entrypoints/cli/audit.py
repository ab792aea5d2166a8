"""Audit commands: verify the event chain, anchor its head, export a range for an auditor.

`settle verify` exits 0 when the chain holds and 1 with the first broken position and what is
wrong there; `settle anchor` records (and prints) the chain head; `settle export` writes chained
events with their hashes for tools/verify_export.py. Each first brings the chain up to the head,
and reads on a connection of the node's pool.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import tuple_row
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from bootstrap.node import Node, open_node
from bootstrap.settings import ConfigurationError
from entrypoints.cli.output import EXIT_FAILURE, EXIT_OK, emit_object
from projections.audit_export import FORMATS, export_records, peer_aggregate_ids, write_export
from projections.audit_verify import VerifyReport, verify_chain
from projections.event_chain import EventChainProjection, chain_head


def position(text: str) -> int:
    """An event position: a whole number ≥ 1 (argparse names the option on error)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a position (a whole number)") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a position (positions start at 1)")
    return value


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("verify", help="recompute the tamper-evident event chain")
    p.add_argument("--from", dest="start", type=position, default=1, metavar="POS")
    _json_option(p)
    p.set_defaults(handler=cmd_verify)

    p = subparsers.add_parser("anchor", help="record and print the event chain's head")
    p.add_argument("--note", default="", help="where the head is being sent, for the record")
    _json_option(p)
    p.set_defaults(handler=cmd_anchor)

    p = subparsers.add_parser("export", help="chained events of a position range, for audit")
    p.add_argument("--from", dest="start", type=position, required=True, metavar="POS")
    p.add_argument("--to", dest="stop", type=position, required=True, metavar="POS")
    p.add_argument("--peer", help="only this peer's events in full; others redacted")
    p.add_argument("--format", dest="fmt", choices=FORMATS, default="jsonl")
    p.add_argument("--output", type=Path, metavar="FILE", help="default: standard output")
    p.set_defaults(handler=cmd_export)


def _json_option(parser: argparse.ArgumentParser) -> None:
    # Also accepted after the subcommand; SUPPRESS keeps `settle --json verify` working.
    parser.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )


def catch_up_chain(node: Node) -> int:
    return node.runner(EventChainProjection()).catch_up()


def cmd_verify(args: argparse.Namespace) -> int:
    with open_node(args.settings) as node:
        catch_up_chain(node)
        with node.pool.connection() as conn:
            report = _verify_with_progress(conn, args.start, show=not args.json)
    broken = report.broken
    summary = {
        "clean": report.clean,
        "from": report.start,
        "checked": report.checked,
        "unchained": report.unchained,
        "head_position": report.head.position,
        "head_hash": report.head.chain_hash.hex(),
        "broken": None
        if broken is None
        else {"position": broken.position, "kind": broken.kind, "detail": broken.detail},
    }
    if args.json:
        emit_object(summary, as_json=True)
    elif broken is None:
        print(
            f"chain verified: {report.checked} events from position {report.start};"
            f" head {report.head.position} {report.head.chain_hash.hex()}"
        )
    else:
        print(f"chain broken at position {broken.position}: {broken.kind}: {broken.detail}")
    return EXIT_OK if report.clean else EXIT_FAILURE


def _verify_with_progress(conn: psycopg.Connection[Any], start: int, show: bool) -> VerifyReport:
    if not (show and sys.stderr.isatty()):
        return verify_chain(conn, start)
    with conn.cursor(row_factory=tuple_row) as cursor:
        total = max(chain_head(cursor).position - start + 1, 0)
    columns = (TextColumn("verifying"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task("verify", total=total)
        return verify_chain(conn, start, lambda done: progress.update(task, completed=done))


def cmd_anchor(args: argparse.Namespace) -> int:
    with open_node(args.settings) as node:
        catch_up_chain(node)
        with node.pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
            head = chain_head(cursor)
            cursor.execute(
                "INSERT INTO audit_anchors (position, chain_hash, note) VALUES (%s, %s, %s)"
                " ON CONFLICT (position) DO NOTHING",
                (head.position, head.chain_hash, args.note),
            )
    emit_object({"position": head.position, "chain_hash": head.chain_hash.hex()}, as_json=args.json)
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    if args.stop < args.start:
        raise ConfigurationError("--to", f"{args.stop} is before --from {args.start}")
    with open_node(args.settings) as node:
        catch_up_chain(node)
        with node.pool.connection() as conn:
            only = None
            if args.peer is not None:
                node.catch_up_read_models()
                only = peer_aggregate_ids(conn, args.peer)
            target = args.output.open("w", newline="") if args.output else nullcontext(sys.stdout)
            with target as out:
                written = write_export(
                    export_records(conn, args.start, args.stop, only), out, args.fmt
                )
    if args.output:
        print(f"exported {written} events to {args.output}", file=sys.stderr)
    return EXIT_OK
