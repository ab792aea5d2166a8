"""`settle peer pause|set-threshold|set-credit-limit`: an operator's changes to a peer account,
each through the same named use case the HTTP operator routes call, recording who asked.

Input is checked here first (amounts whole and not negative, settle-to below the threshold, a
reason given), so a bad value exits 2 naming the option; the account is looked up by its names,
so an unknown one is named `peer/ASSET`. The domain checks the same again on the state saved.
"""

from __future__ import annotations

import argparse
import getpass
from typing import Any

from bootstrap.node import open_node
from domain.money import MAX_AMOUNT
from domain.peer_account import PeerAccount
from entrypoints.cli.output import EXIT_OK, BadInput, emit_object

MAX_REASON = 500  # as the HTTP API's PauseIn


def register(actions: Any) -> None:
    """Adds the change commands to `settle peer`'s subcommands."""
    paused = actions.add_parser("pause", help="pause a peer: no packets, no settlements")
    _account_arguments(paused)
    paused.add_argument("--reason", required=True, help="why (recorded with who paused it)")
    paused.add_argument("--by", help="who pauses it (recorded); default: the login name")
    paused.set_defaults(handler=cmd_pause)

    threshold = actions.add_parser(
        "set-threshold", help="change the settlement threshold and settle-to"
    )
    _account_arguments(threshold)
    threshold.add_argument(
        "--threshold", required=True, type=amount, help="payable that starts a settlement"
    )
    threshold.add_argument(
        "--settle-to", required=True, type=amount, help="payable left after it (< threshold)"
    )
    threshold.set_defaults(handler=cmd_set_threshold)

    credit = actions.add_parser("set-credit-limit", help="change how much the peer may owe us")
    _account_arguments(credit)
    credit.add_argument(
        "--credit-limit", required=True, type=amount, help="receivable allowed (minor units)"
    )
    credit.set_defaults(handler=cmd_set_credit_limit)


def _account_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("peer", help="the peer's name")
    parser.add_argument("asset", help="the asset code, e.g. USD")


def amount(text: str) -> int:
    """An amount in minor units: a whole number from 0 to 2**128-1."""
    try:
        value = int(text.strip(), 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    if value > MAX_AMOUNT:
        raise argparse.ArgumentTypeError(f"{value} exceeds 2**128-1")
    return value


def _by(args: argparse.Namespace) -> str:
    by = args.by if args.by is not None else getpass.getuser()
    if not by.strip() or not by.isprintable():
        raise BadInput("--by", "must name who asks, on one line")
    return f"cli:{by}"


def cmd_pause(args: argparse.Namespace) -> int:
    reason = args.reason.strip()
    if not reason or not reason.isprintable() or len(reason) > MAX_REASON:
        raise BadInput("--reason", f"must be 1 to {MAX_REASON} printable characters")
    by = _by(args)
    with open_node(args.settings) as node:
        account = node.app.peer_account(args.peer, args.asset)  # unknown: named peer/ASSET
        node.app.pause(account.id, f"{by}: {reason}")
        after = node.app.peer_account(args.peer, args.asset)
    emit_object(_view(after, paused_now=account.paused_reason is None), as_json=args.json)
    return EXIT_OK


def cmd_set_threshold(args: argparse.Namespace) -> int:
    if args.threshold == 0:
        raise BadInput("--threshold", "must be positive")
    if args.settle_to >= args.threshold:
        raise BadInput(
            "--settle-to", f"{args.settle_to} must be below the threshold {args.threshold}"
        )
    with open_node(args.settings) as node:
        account = node.app.peer_account(args.peer, args.asset)
        node.app.change_threshold(account.id, args.threshold, args.settle_to)
        after = node.app.peer_account(args.peer, args.asset)
    emit_object(_view(after), as_json=args.json)
    return EXIT_OK


def cmd_set_credit_limit(args: argparse.Namespace) -> int:
    with open_node(args.settings) as node:
        account = node.app.peer_account(args.peer, args.asset)
        node.app.change_credit_limit(account.id, args.credit_limit)
        after = node.app.peer_account(args.peer, args.asset)
    emit_object(_view(after), as_json=args.json)
    return EXIT_OK


def _view(account: PeerAccount, **extra: Any) -> dict[str, Any]:
    return {
        "account": f"{account.peer_id}/{account.asset_code}",
        "payable": account.payable,
        "receivable": account.receivable,
        "threshold": account.threshold,
        "settle_to": account.settle_to,
        "credit_limit": account.credit_limit,
        "paused_reason": account.paused_reason,
        **extra,
    }
