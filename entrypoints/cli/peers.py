"""`settle peer open|register|resume` and `settle packets record`: what a connector feeds the
ledger, and an operator lifting a pause (its own, or a fraud rule's), recorded with who did.
The other operator changes (pause, threshold, credit limit) are in `peer_changes.py`."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from application.packet_settings import PacketSettings
from bootstrap.node import open_node
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry, PeerAccount
from entrypoints.cli import peer_changes
from entrypoints.cli.output import EXIT_OK, BadInput, emit_object

_LIMIT_ENV = "SETTLE_PACKETS__"


class PacketIn(BaseModel):
    """One packet posting as a connector sends it (JSON lines or a JSON list)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    packet_id: str = Field(min_length=1, max_length=128)
    direction: Literal["incoming", "outgoing"]
    amount: int = Field(gt=0, lt=2**128)


def register(subparsers: Any) -> None:
    peer = subparsers.add_parser(
        "peer", help="peer accounts: open, register, pause, resume, set-threshold, set-credit-limit"
    )
    actions = peer.add_subparsers(dest="peer_action", required=True)
    opened = actions.add_parser("open", help="open the account of a peer in an asset")
    opened.add_argument("peer")
    opened.add_argument("--asset", required=True)
    opened.add_argument("--scale", type=int, required=True)
    opened.add_argument("--threshold", type=int, required=True)
    opened.add_argument("--settle-to", type=int, required=True)
    opened.add_argument("--credit-limit", type=int, required=True)
    opened.set_defaults(handler=cmd_open)
    registered = actions.add_parser("register", help="the peer's chain address, rails, endpoint")
    registered.add_argument("peer")
    registered.add_argument("--asset", required=True)
    registered.add_argument("--address", required=True)
    registered.add_argument("--rails", required=True, help="comma-separated rail names")
    registered.add_argument("--preferred-rail")
    registered.add_argument("--claims-url", required=True)
    registered.set_defaults(handler=cmd_register)
    resumed = actions.add_parser("resume", help="lift a pause (an operator's or a fraud rule's)")
    resumed.add_argument("peer")
    resumed.add_argument("--asset", required=True)
    resumed.add_argument("--by", help="who resumes it (recorded); default: the login name")
    resumed.set_defaults(handler=cmd_resume)
    peer_changes.register(actions)

    packets = subparsers.add_parser("packets", help="record packet postings")
    packet_actions = packets.add_subparsers(dest="packets_action", required=True)
    record = packet_actions.add_parser("record", help="record one batch (JSON on stdin or --file)")
    record.add_argument("peer")
    record.add_argument("--asset", required=True)
    record.add_argument("--batch-id", required=True)
    record.add_argument("--file", default="-", help="a file of JSON; - (the default) is stdin")
    record.add_argument(
        "--made-at",
        default=None,
        help="when the batch was made (ISO 8601 with offset, e.g. 2026-01-01T00:00:00Z);"
        " now if absent. Older than the idempotency window: refused",
    )
    record.set_defaults(handler=cmd_record)


def cmd_open(args: argparse.Namespace) -> int:
    asset = Asset(args.asset, args.scale)
    with open_node(args.settings) as node:
        account_id = node.app.open_peer_account(
            args.peer, asset, args.threshold, args.settle_to, args.credit_limit
        )
    emit_object(
        {"account_id": account_id, "peer": args.peer, "asset": args.asset}, as_json=args.json
    )
    return EXIT_OK


def cmd_register(args: argparse.Namespace) -> int:
    rails = [r.strip() for r in args.rails.split(",") if r.strip()]
    preferred = args.preferred_rail or (rails[0] if rails else "")
    _check_rails_configured(rails, args.settings.rails.rails)
    with open_node(args.settings) as node:
        changed = node.app.register_peer(
            args.peer, args.asset, args.address, rails, preferred, args.claims_url
        )
    account_id = PeerAccount.create_id(args.peer, args.asset)
    emit_object(
        {"account_id": account_id, "registered": True, "changed": changed}, as_json=args.json
    )
    return EXIT_OK


def _check_rails_configured(names: list[str], configured: list[Any]) -> None:
    """Refuses a rail this node does not know: a peer registered on it could never be paid."""
    known = [rail.name for rail in configured]
    for name in names:
        if name and name not in known:
            listed = ", ".join(known) if known else "none (SETTLE_RAILS is empty)"
            raise BadInput("--rails", f"rail {name!r} is not configured; known rails: {listed}")


def cmd_resume(args: argparse.Namespace) -> int:
    by = args.by if args.by is not None else getpass.getuser()
    if not by.strip():
        raise BadInput("--by", "must name who resumes the account")
    account_id = PeerAccount.create_id(args.peer, args.asset)
    with open_node(args.settings) as node:
        before = node.app.peer_account(args.peer, args.asset).paused_reason
        node.app.resume_peer_account(account_id, f"cli:{by}")
    emit_object(
        {
            "account_id": account_id,
            "resumed": before is not None,
            "was_paused_for": before,
            "by": f"cli:{by}",
        },
        as_json=args.json,
    )
    return EXIT_OK


def cmd_record(args: argparse.Namespace) -> int:
    limits: PacketSettings = args.settings.packets
    text = read_batch_input(args.file, limits.max_batch_bytes)
    entries = parse_entries(text, limits.max_batch_entries)
    made_at = parse_made_at(args.made_at)
    with open_node(args.settings) as node:
        result = node.app.record_packets(args.peer, args.asset, args.batch_id, entries, made_at)
    emit_object(vars(result), as_json=args.json)
    return EXIT_OK


def parse_made_at(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        made_at = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput("--made-at", f"{text!r} is not an ISO 8601 time") from None
    if made_at.tzinfo is None:
        raise BadInput("--made-at", f"{text!r} needs an offset (Z or +00:00)")
    return made_at


def read_batch_input(path: str, max_bytes: int) -> str:
    """The batch's text from `path` ("-": stdin), refused past `max_bytes` or if not UTF-8.

    Reads at most one byte past the limit, so an oversized input is never held whole.
    """
    try:
        if path == "-":
            data = sys.stdin.buffer.read(max_bytes + 1)
        else:
            with open(path, "rb") as file:
                data = file.read(max_bytes + 1)
    except OSError as error:
        raise BadInput("--file", f"cannot be read: {error.strerror or error}") from None
    if len(data) > max_bytes:
        raise BadInput(
            "packets",
            f"input exceeds the limit of {max_bytes} bytes ({_LIMIT_ENV}MAX_BATCH_BYTES)",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadInput(
            "packets", f"not UTF-8: byte 0x{data[error.start]:02x} at offset {error.start}"
        ) from None


def parse_entries(text: str, max_entries: int) -> list[PacketEntry]:
    """A JSON list of postings, or one posting per line; errors name the entry and field."""
    raw = _parse_json(text)
    if len(raw) > max_entries:
        raise BadInput(
            "packets",
            f"{len(raw)} entries exceed the limit of {max_entries} entries"
            f" ({_LIMIT_ENV}MAX_BATCH_ENTRIES)",
        )
    entries = []
    for index, item in enumerate(raw):
        try:
            packet = PacketIn.model_validate(item)
        except ValidationError as error:
            problem = error.errors()[0]
            field = ".".join(str(p) for p in problem["loc"])
            where = f"packets[{index}].{field}" if field else f"packets[{index}]"
            raise BadInput(where, problem["msg"]) from None
        entries.append(PacketEntry(packet.packet_id, Direction(packet.direction), packet.amount))
    return entries


def _parse_json(text: str) -> list[Any]:
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            raw = json.loads(stripped)
        except json.JSONDecodeError as error:
            raise BadInput("packets", f"not JSON: {error}") from None
        return list(raw)
    raw = []
    for number, line in enumerate(stripped.splitlines(), start=1):
        if line.strip():
            try:
                raw.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise BadInput(f"packets line {number}", f"not JSON: {error}") from None
    return raw
