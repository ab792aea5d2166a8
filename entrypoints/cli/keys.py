"""`settle keys list|rotate REFERENCE`: the node's signing keys and which one new channels use.

Rotating opens the new key first (an HSM label, a KMS key id, ...), so a key that cannot sign
is never made active; channels already open keep the key they were opened with until settled.
"""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

from eth_utils.address import to_checksum_address

from adapters.signing.configured import generate_device_key, load_key
from adapters.signing.signer import SignerUnavailable
from bootstrap.node import open_node
from domain.address import Address
from domain.errors import InvalidField
from domain.key_audit import check_reference
from entrypoints.cli.output import EXIT_OK, BadInput, emit, emit_object
from projections.key_needs import channels_needing_keys


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("keys", help="signing keys: list, rotate")
    actions = p.add_subparsers(dest="keys_action", required=True)
    actions.add_parser("list", help="keys, the active one, open channels per key").set_defaults(
        handler=cmd_keys_list
    )
    rotate = actions.add_parser("rotate", help="make another key the one new channels use")
    rotate.add_argument(
        "reference", help="pkcs11:<label>, kms:<key id>, keystore:<path> or env:<variable>"
    )
    rotate.set_defaults(handler=cmd_keys_rotate)
    generate = actions.add_parser(
        "generate", help="make a new key inside the HSM (pkcs11:<label>) or KMS (kms:new)"
    )
    generate.add_argument("reference", help="pkcs11:<new label> or kms:new")
    generate.set_defaults(handler=cmd_keys_generate)


def cmd_keys_list(args: argparse.Namespace) -> int:
    with open_node(args.settings) as node:
        node.catch_up_read_models()
        ring = node.app.key_ring()
        open_per_key = Counter(need.our_address for need in channels_needing_keys(node.pool))
        rows = []
        for reference, address in sorted((ring.keys if ring else {}).items()):
            in_use = open_per_key.get(Address(address), 0)
            status = (
                "active"
                if ring and reference == ring.active
                else ("kept for open channels" if in_use else "retired")
            )
            rows.append(
                {
                    "key": reference,
                    "address": to_checksum_address(address),
                    "status": status,
                    "open_channels": in_use,
                }
            )
        emit(rows, as_json=args.json, title="keys")
    return EXIT_OK


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    try:
        reference = check_reference(args.reference)
    except InvalidField as error:
        raise BadInput("reference", error.problem) from None
    try:
        signer = load_key(reference, args.settings.chain)
    except SignerUnavailable as error:
        raise BadInput("reference", f"{reference} cannot be opened: {error}") from None
    _close(signer)
    with open_node(args.settings) as node:
        changed = node.app.activate_key(reference, signer.address)
    emit_object(
        {"active": reference, "address": signer.address, "changed": changed}, as_json=args.json
    )
    return EXIT_OK


def cmd_keys_generate(args: argparse.Namespace) -> int:
    """Generates a key inside its device (the key never leaves it) and prints its reference;
    `settle keys rotate` then makes it active."""
    try:
        reference = generate_device_key(args.reference, args.settings.chain)
        signer = load_key(reference, args.settings.chain)
    except InvalidField as error:
        raise BadInput("reference", error.problem) from None
    except SignerUnavailable as error:
        raise BadInput("reference", str(error)) from None
    _close(signer)
    emit_object({"key": reference, "address": signer.address}, as_json=args.json)
    return EXIT_OK


def _close(signer: object) -> None:
    """Ends an HSM session at once: PKCS#11 logs a whole process in while one is open."""
    close = getattr(signer, "close", None)
    if callable(close):
        close()
