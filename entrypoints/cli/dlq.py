"""`settle dlq list|retry ID|discard ID`: the dead-letter list of settlements."""

from __future__ import annotations

import argparse
from typing import Any
from uuid import UUID

from application.clock import system_clock
from application.dead_letters import dead_letters, discard_dead_letter, retry_dead_letter
from bootstrap.node import open_node
from bootstrap.settings import ConfigurationError
from bootstrap.settlement import claim_delivery
from entrypoints.cli.output import EXIT_OK, emit, emit_object


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("dlq", help="dead-lettered settlements: list, retry, discard")
    actions = p.add_subparsers(dest="dlq_action", required=True)
    actions.add_parser("list", help="dead letters not yet resolved").set_defaults(handler=cmd_list)
    retry = actions.add_parser(
        "retry", help="retry a dead letter (a claim already signed is delivered again)"
    )
    retry.add_argument("id", help="the settlement id")
    retry.set_defaults(handler=cmd_retry)
    discard = actions.add_parser("discard", help="discard a dead letter (no proof out)")
    discard.add_argument("id", help="the settlement id")
    discard.set_defaults(handler=cmd_discard)


def _uuid(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise ConfigurationError("id", f"{text!r} is not a settlement UUID") from None


def cmd_list(args: argparse.Namespace) -> int:
    with open_node(args.settings) as node:
        node.catch_up_read_models()
        emit(dead_letters(node.read_side()), as_json=args.json, title="dead letters")
    return EXIT_OK


def cmd_retry(args: argparse.Namespace) -> int:
    settlement_id = _uuid(args.id)
    with open_node(args.settings) as node:
        claims = claim_delivery(args.settings)  # a claim already signed is delivered again
        carried_by = retry_dead_letter(node.app, settlement_id, system_clock, claims)
    emit_object({"settlement_id": settlement_id, "retried_as": carried_by}, as_json=args.json)
    return EXIT_OK


def cmd_discard(args: argparse.Namespace) -> int:
    settlement_id = _uuid(args.id)
    with open_node(args.settings) as node:
        discard_dead_letter(node.app, settlement_id, system_clock)
    emit_object({"settlement_id": settlement_id, "discarded": True}, as_json=args.json)
    return EXIT_OK
