"""`settle channel list|close|settle`: the payment channels, and an operator ending one.

`close` abandons the channel (recorded first: no proof of ours is signed on it from then on) and
closes it on chain with the partner's latest proof, through `ChannelDisputes.close`, the use case
the node itself uses; `settle` pays it out after the challenge period through
`ChannelDisputes.answer`, as `settle run`'s dispute pass does. Both need the rail that serves
the channel (its chain and token network in SETTLE_RAILS) and the channel's key; without the
rail the command exits 2 naming it. Channel amounts are token units (the token's decimals), not
the asset's minor units: the table says so, the JSON carries the decimals.
"""

from __future__ import annotations

import argparse
import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from uuid import UUID

from application.clock import system_clock
from application.rails.config import RailConfig
from bootstrap.node import Node, open_node
from bootstrap.operator import (
    close_channel,
    leading_for,
    payout_of,
    rail_serving,
    settle_channel,
    settlement_process_for,
)
from bootstrap.settlement import SettlementProcess
from domain.channel import Channel, ChannelState
from entrypoints.cli.output import (
    EXIT_OK,
    EXIT_USAGE,
    BadInput,
    emit,
    emit_narrow,
    emit_object,
    fail,
)
from entrypoints.http.api.node_operations import ChannelNotReady, ChannelOutcome, NotLeader


def register(subparsers: Any) -> None:
    channel = subparsers.add_parser("channel", help="payment channels: list, close, settle")
    actions = channel.add_subparsers(dest="channel_action", required=True)
    listed = actions.add_parser("list", help="channels, amounts in token units (fits 80 columns)")
    listed.add_argument("--peer", help="only this peer's channels")
    listed.set_defaults(handler=cmd_list)
    closed = actions.add_parser(
        "close", help="close an opened channel on chain with the partner's latest proof"
    )
    closed.add_argument("channel_id", metavar="CHANNEL_ID", help="the channel's UUID")
    closed.add_argument("--reason", default="closed by the operator", help="recorded with it")
    closed.add_argument("--by", help="who closes it (recorded); default: the login name")
    closed.set_defaults(handler=cmd_close)
    settled = actions.add_parser(
        "settle", help="pay out a closed channel once its challenge period is over"
    )
    settled.add_argument("channel_id", metavar="CHANNEL_ID", help="the channel's UUID")
    settled.set_defaults(handler=cmd_settle)


def cmd_list(args: argparse.Namespace) -> int:
    with open_node(args.settings) as node:
        node.catch_up_read_models()
        rows = node.read_side().all_channels(args.peer)
        units = {row["channel_id"]: _units(node, row["channel_id"]) for row in rows}
    if args.json:
        emit([{**row, **units[row["channel_id"]]} for row in rows], as_json=True)
        return EXIT_OK
    table = [_human_row(row, units[row["channel_id"]]["token_decimals"]) for row in rows]
    emit_narrow(table, title="channels (deposit, sent, received: in tokens)")
    return EXIT_OK


def _units(node: Node, channel_id: Any) -> dict[str, Any]:
    channel = node.app.channel(UUID(str(channel_id)))
    return {
        "token_decimals": channel.token_decimals,
        "asset_scale": channel.asset_scale,
        "amount_unit": "token base units",
    }


def _human_row(row: dict[str, Any], decimals: int) -> dict[str, Any]:
    return {
        "channel": str(row["channel_id"])[:8],
        "peer": f"{row['peer_id']}/{row['asset_code']}",
        "state": row["state"],
        "nonces": f"{row['our_nonce']}/{row['partner_nonce']}",
        "deposit": tokens(row["our_deposit"], decimals),
        "sent": tokens(row["our_transferred"], decimals),
        "received": tokens(row["partner_transferred"], decimals),
    }


def tokens(base_units: Any, decimals: int) -> str:
    """Base units as a token amount, exactly, without trailing zeros (10**18 at 18: "1")."""
    value = Decimal(int(base_units)).scaleb(-decimals)
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _channel_id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise BadInput("CHANNEL_ID", f"{text!r} is not a channel UUID") from None


def _serving_rail(node: Node, channel: Channel) -> Any:
    rail = rail_serving(node, channel.chain_id, channel.token_network)
    if rail is None:
        known = ", ".join(r.name for r in node.settings.rails.rails) or "none"
        raise BadInput(
            "CHANNEL_ID",
            f"no configured rail serves channel {channel.id} (rail chain {channel.chain_id},"
            f" token network {channel.token_network}); SETTLE_RAILS has: {known}",
        )
    return rail


def cmd_close(args: argparse.Namespace) -> int:
    channel_id = _channel_id(args.channel_id)
    by = args.by if args.by is not None else getpass.getuser()
    reason = args.reason.strip()
    if not reason or not reason.isprintable() or not by.strip() or not by.isprintable():
        raise BadInput("--reason", "the reason and --by must be printable text on one line")
    with open_node(args.settings) as node:
        channel = node.app.channel(channel_id)
        if channel.state != ChannelState.OPENED or channel.onchain_id is None:
            raise BadInput(
                "CHANNEL_ID", f"channel {channel_id} is {channel.state}: only an opened one closes"
            )
        rail = _serving_rail(node, channel)
        try:
            with _chain_calls(node, rail, channel) as process:
                outcome = close_channel(process, channel_id, f"cli:{by}: {reason}")
        except NotLeader as error:
            return _lead_elsewhere(error, channel_id, "close")
    result = {"channel_id": channel_id, "rail": rail.name, "state": outcome.state}
    emit_object({**result, "tx_hash": outcome.tx_hash}, as_json=args.json)
    return EXIT_OK


def cmd_settle(args: argparse.Namespace) -> int:
    channel_id = _channel_id(args.channel_id)
    with open_node(args.settings) as node:
        channel = node.app.channel(channel_id)
        if channel.state == ChannelState.SETTLED:
            emit_object(_payout(payout_of(node.app, channel_id, None)), as_json=args.json)
            return EXIT_OK
        if channel.state != ChannelState.CLOSED or channel.onchain_id is None:
            raise BadInput(
                "CHANNEL_ID",
                f"channel {channel_id} is {channel.state}: close it first"
                f" (settle channel close {channel_id})",
            )
        rail = _serving_rail(node, channel)
        try:
            with _chain_calls(node, rail, channel) as process:
                outcome = settle_channel(process, channel_id)
        except NotLeader as error:
            return _lead_elsewhere(error, channel_id, "settle")
    emit_object(_payout(outcome), as_json=args.json)
    return EXIT_OK


@contextmanager
def _chain_calls(node: Node, rail: RailConfig, channel: Channel) -> Iterator[SettlementProcess]:
    """The settlement process on the channel's rail, while this command holds the leader lock
    (a running leader sends with the same key: one nonce sequence); NotLeader, before anything
    is recorded, when another instance leads."""
    try:
        with (
            leading_for(node, f"cli:{getpass.getuser()}"),
            settlement_process_for(node, rail, channel.our_address, system_clock) as process,
        ):
            yield process
    except ChannelNotReady as error:
        raise BadInput("CHANNEL_ID", str(error)) from None


def _lead_elsewhere(error: NotLeader, channel_id: UUID, action: str) -> int:
    """One line: who leads, and the route of its API that does this instead."""
    leader = f"node {error.leader!r}" if error.leader else "another instance"
    route = f"POST /v1/operator/channels/{channel_id}/{action}"
    return fail(
        f"{leader} leads and sends this key's chain transactions: nothing done here;"
        f" use {route} on its API (or stop it first)",
        EXIT_USAGE,
    )


def _payout(outcome: ChannelOutcome) -> dict[str, Any]:
    return {
        "channel_id": outcome.channel_id,
        "state": outcome.state,
        "settled_now": outcome.settled_now,
        "our_amount": outcome.our_amount,
        "partner_amount": outcome.partner_amount,
        "amount_unit": f"token base units ({outcome.token_decimals} decimals)",
    }
