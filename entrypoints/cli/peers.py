"""`settle peer open|register` and `settle packets record`: what a connector feeds the ledger."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bootstrap.node import open_node
from bootstrap.settings import ConfigurationError
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry, PeerAccount
from entrypoints.cli.output import EXIT_OK, emit_object


class PacketIn(BaseModel):
    """One packet posting as a connector sends it (JSON lines or a JSON list)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    packet_id: str = Field(min_length=1, max_length=128)
    direction: Literal["incoming", "outgoing"]
    amount: int = Field(gt=0, lt=2**128)


def register(subparsers: Any) -> None:
    peer = subparsers.add_parser("peer", help="peer accounts: open, register")
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

    packets = subparsers.add_parser("packets", help="record packet postings")
    packet_actions = packets.add_subparsers(dest="packets_action", required=True)
    record = packet_actions.add_parser("record", help="record one batch (JSON on stdin or --file)")
    record.add_argument("peer")
    record.add_argument("--asset", required=True)
    record.add_argument("--batch-id", required=True)
    record.add_argument("--file", type=argparse.FileType("r"), default=sys.stdin)
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
    with open_node(args.settings) as node:
        account_id = PeerAccount.create_id(args.peer, args.asset)
        changed = node.app.change(
            account_id,
            PeerAccount,
            lambda a: a.register(args.address, rails, preferred, args.claims_url),
        )
    emit_object(
        {"account_id": account_id, "registered": True, "changed": changed}, as_json=args.json
    )
    return EXIT_OK


def cmd_record(args: argparse.Namespace) -> int:
    entries = parse_entries(args.file.read())
    with open_node(args.settings) as node:
        result = node.app.record_packets(args.peer, args.asset, args.batch_id, entries)
    emit_object(vars(result), as_json=args.json)
    return EXIT_OK


def parse_entries(text: str) -> list[PacketEntry]:
    """A JSON list of postings, or one posting per line; errors name the entry and field."""
    stripped = text.strip()
    try:
        raw = (
            json.loads(stripped)
            if stripped.startswith("[")
            else [json.loads(line) for line in stripped.splitlines() if line.strip()]
        )
    except json.JSONDecodeError as error:
        raise ConfigurationError("packets", f"not JSON: {error}") from None
    entries = []
    for index, item in enumerate(raw):
        try:
            packet = PacketIn.model_validate(item)
        except ValidationError as error:
            problem = error.errors()[0]
            field = ".".join(str(p) for p in problem["loc"])
            raise ConfigurationError(f"packets[{index}].{field}", problem["msg"]) from None
        entries.append(PacketEntry(packet.packet_id, Direction(packet.direction), packet.amount))
    return entries
