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
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from application.chain_ports import OnchainChannelState
from application.clock import system_clock
from bootstrap.node import Node, open_node
from bootstrap.operator import rail_serving, settlement_process_for
from domain.channel import Channel, ChannelState
from entrypoints.cli.output import EXIT_OK, BadInput, emit, emit_narrow, emit_object


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
        with settlement_process_for(node, rail, channel.our_address, system_clock) as process:
            tx_hash = process.disputes.close(channel_id, f"cli:{by}: {reason}")
        after = node.app.channel(channel_id)
    emit_object(
        {"channel_id": channel_id, "rail": rail.name, "state": after.state, "tx_hash": tx_hash},
        as_json=args.json,
    )
    return EXIT_OK


def cmd_settle(args: argparse.Namespace) -> int:
    channel_id = _channel_id(args.channel_id)
    with open_node(args.settings) as node:
        channel = node.app.channel(channel_id)
        if channel.state == ChannelState.SETTLED:
            emit_object(_payout(node, channel_id, settled_now=False), as_json=args.json)
            return EXIT_OK
        if channel.state != ChannelState.CLOSED or channel.onchain_id is None:
            raise BadInput(
                "CHANNEL_ID",
                f"channel {channel_id} is {channel.state}: close it first"
                f" (settle channel close {channel_id})",
            )
        rail = _serving_rail(node, channel)
        with settlement_process_for(node, rail, channel.our_address, system_clock) as process:
            network = process.rails.of_channel(channel).network
            onchain = network.channel(channel.onchain_id)
            now = network.chain_time()
            if onchain.state == OnchainChannelState.CLOSED and now <= onchain.settle_after:
                raise BadInput("CHANNEL_ID", _too_early(channel_id, onchain.settle_after, now))
            process.disputes.answer(channel_id)
            if node.app.channel(channel_id).state != ChannelState.SETTLED:
                process.sync_chain()  # the partner settled it first: record what the chain paid
        result = _payout(node, channel_id, settled_now=True)
    emit_object(result, as_json=args.json)
    return EXIT_OK


def _too_early(channel_id: UUID, settle_after: int, now: int) -> str:
    def at(seconds: int) -> str:
        return datetime.fromtimestamp(seconds, UTC).isoformat()

    return (
        f"channel {channel_id}: the challenge period runs until {at(settle_after)} chain time"
        f" ({settle_after - now + 1}s from the chain's now, {at(now)}); settle after it"
    )


def _payout(node: Node, channel_id: UUID, *, settled_now: bool) -> dict[str, Any]:
    channel = node.app.channel(channel_id)
    paid = [e for e in node.app.history(channel_id) if isinstance(e, Channel.Settled)]
    return {
        "channel_id": channel_id,
        "state": channel.state,
        "settled_now": settled_now and channel.state == ChannelState.SETTLED,
        "our_amount": paid[-1].our_amount if paid else None,
        "partner_amount": paid[-1].partner_amount if paid else None,
        "amount_unit": f"token base units ({channel.token_decimals} decimals)",
    }
