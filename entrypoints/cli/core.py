"""Core commands: migrate, balances, channels, settlements, history, replay.

balances, channels and settlements also answer for the past (--as-of TIME, --at-position N):
then the read models are rebuilt from the events up to that point (projections/point_in_time.py).
Every read goes through the node's read side, on its one pool.
"""

from __future__ import annotations

import argparse
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from adapters.postgres.migrations import apply_migrations
from application.clock import system_clock
from bootstrap.node import Node, database_url_for, open_node
from bootstrap.replay import replay
from bootstrap.settings import ConfigurationError
from domain.peer_account import PeerAccount
from domain.settlement import SettlementStatus
from entrypoints.cli.output import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    emit,
    emit_narrow,
    emit_object,
    fail,
)
from projections.event_chain import EventChainProjection
from projections.point_in_time import PositionOutOfRange, position_as_of, read_models_at
from projections.read_side import ReadSide

_AGE = re.compile(r"^(\d+)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_age(text: str) -> timedelta:
    match = _AGE.match(text.strip())
    if not match:
        raise ConfigurationError("--stuck", f"{text!r} is not an age like 90s, 15m, 2h or 1d")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("migrate", help="apply pending SQL migrations")
    p.set_defaults(handler=cmd_migrate)

    p = subparsers.add_parser("balances", help="balances per peer and asset")
    p.add_argument("--peer", help="only this peer")
    _point_in_time_options(p)
    p.set_defaults(handler=cmd_balances)

    p = subparsers.add_parser("channels", help="payment channels")
    _point_in_time_options(p)
    p.set_defaults(handler=cmd_channels)

    p = subparsers.add_parser("settlements", help="settlements by status, peer or stuck age")
    p.add_argument("--status", choices=[s.value for s in SettlementStatus])
    p.add_argument("--peer")
    p.add_argument("--stuck", metavar="AGE", help="not terminal and unchanged for longer than AGE")
    _point_in_time_options(p)
    p.set_defaults(handler=cmd_settlements)

    p = subparsers.add_parser(
        "history", help="every event of a peer account, channel or settlement"
    )
    p.add_argument("id", help="aggregate UUID, or PEER/ASSET for a peer account")
    p.set_defaults(handler=cmd_history)

    p = subparsers.add_parser("run", help="run the service: projections and processes")
    p.set_defaults(handler=cmd_run)

    p = subparsers.add_parser("replay", help="rebuild read models from the first event and compare")
    p.set_defaults(handler=cmd_replay)


def cmd_migrate(args: argparse.Namespace) -> int:
    url, embedded = database_url_for(args.settings)
    try:
        applied = apply_migrations(url)
    finally:
        if embedded is not None:
            embedded.stop()
    rows = [{"version": m.version, "name": m.name} for m in applied]
    emit(rows, as_json=args.json, title="migrations applied")
    return EXIT_OK


def _point_in_time_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--as-of", type=parse_time, metavar="TIME", help="as at TIME (ISO 8601; UTC if no offset)"
    )
    group.add_argument(
        "--at-position", type=int, metavar="N", help="as after the event at position N"
    )


def parse_time(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


@contextmanager
def _read_models(node: Node, args: argparse.Namespace) -> Iterator[ReadSide]:
    """The live read models (caught up), or, with --as-of/--at-position, those of the past."""
    if args.as_of is None and args.at_position is None:
        node.catch_up_read_models()
        yield node.read_side()
        return
    position = args.at_position
    if args.as_of is not None:
        node.runner(EventChainProjection()).catch_up()
        position = position_as_of(node.pool, args.as_of)
    elif position < 0:
        raise ConfigurationError("--at-position", f"{position} is not a position (0 or more)")
    try:
        batch = node.settings.projection_batch_size
        with read_models_at(node.app, node.pool, position, batch_size=batch) as schema:
            yield ReadSide(node.pool, node.app, schema=schema)
    except PositionOutOfRange as error:
        raise ConfigurationError("--at-position", str(error)) from None


def cmd_balances(args: argparse.Namespace) -> int:
    with open_node(args.settings) as node, _read_models(node, args) as reads:
        emit(reads.all_balances(args.peer), as_json=args.json, title="balances")
    return EXIT_OK


def cmd_channels(args: argparse.Namespace) -> int:
    with open_node(args.settings) as node, _read_models(node, args) as reads:
        emit(reads.all_channels(), as_json=args.json, title="channels")
    return EXIT_OK


def cmd_settlements(args: argparse.Namespace) -> int:
    stuck = parse_age(args.stuck) if args.stuck else None
    with open_node(args.settings) as node, _read_models(node, args) as reads:
        rows = reads.all_settlements(
            status=args.status,
            peer_id=args.peer,
            stuck_for=stuck,
            now=args.as_of or datetime.now(UTC),
        )
        if args.json:
            emit(rows, as_json=True)
        else:
            title = "settlements (amounts in minor units; --json: every field)"
            emit_narrow([_settlement_line(row) for row in rows], title=title)
    return EXIT_OK


def _settlement_line(row: dict[str, Any]) -> dict[str, Any]:
    """One settlement on one line of 80 columns: the id's first 8 hex digits (the history
    command takes the whole id: `--json`), no rail (in `--json` and the history), and the
    last error cut to what fits."""
    updated = row["updated_at"]
    return {
        "id": str(row["settlement_id"])[:8],
        "peer": f"{row['peer_id']}/{row['asset_code']}",
        "amount": str(row["amount"]),
        "status": str(row["status"]),
        "tries": str(row["attempts"]),
        "updated": updated.strftime("%m-%d %H:%M") if updated else "",
        "last error": (row["last_error"] or "").replace("\n", " "),
    }


def cmd_history(args: argparse.Namespace) -> int:
    aggregate_id = _parse_aggregate_id(args.id)
    with open_node(args.settings) as node:
        rows = node.read_side().all_history(aggregate_id)
        if not rows:
            return fail(f"history: no events for id {args.id!r}", EXIT_FAILURE)
        emit(rows, as_json=args.json, title=f"history of {aggregate_id}")
    return EXIT_OK


def _parse_aggregate_id(text: str) -> UUID:
    if "/" in text:
        peer_id, _, asset_code = text.partition("/")
        return PeerAccount.create_id(peer_id, asset_code)
    try:
        return UUID(text)
    except ValueError:
        raise ConfigurationError("id", f"{text!r} is neither a UUID nor PEER/ASSET") from None


def cmd_run(args: argparse.Namespace) -> int:
    stop = threading.Event()
    # Imported here: the service pulls in web3, FastAPI and the signers (seconds of imports)
    # that reading commands such as `settle balances` never need.
    from bootstrap import service

    service.stop_on_signals(stop)
    with open_node(args.settings) as node:
        code = service.run(service.build_service(node, system_clock), stop)
    return EXIT_OK if code == 0 else EXIT_FAILURE


def cmd_replay(args: argparse.Namespace) -> int:
    with open_node(args.settings) as node:
        report = replay(node)
    rows = [
        {"table": d.table, "key": d.key, "live": d.live, "rebuilt": d.rebuilt}
        for d in report.differences
    ]
    if args.json:
        emit_object(
            {"position": report.position, "clean": report.clean, "differences": rows}, as_json=True
        )
    else:
        print(f"replayed {report.events} events up to position {report.position}")
        if report.clean:
            print("read models match the event history: no differences")
        else:
            emit(rows, as_json=False, title=f"{len(rows)} difference(s)")
    return EXIT_OK if report.clean else EXIT_FAILURE


__all__ = ["EXIT_USAGE", "parse_age", "register"]
