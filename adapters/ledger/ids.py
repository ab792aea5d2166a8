"""Deterministic 128-bit ledger ids: the same facts always give the same id.

A transfer id comes from the event that caused it (its aggregate id and version) and the
leg index within that event, so posting the same event twice yields `exists`, never a second
transfer. An account id comes from its kind and what it belongs to (peer, asset, channel).
"""

from __future__ import annotations

import hashlib
from uuid import UUID

from adapters.ledger.errors import InvalidLedgerField
from adapters.ledger.port import ID_MAX


def _digest(*parts: bytes) -> int:
    hasher = hashlib.blake2b(digest_size=16, person=b"settle-ledger")
    for part in parts:
        hasher.update(len(part).to_bytes(4, "big"))
        hasher.update(part)
    value = int.from_bytes(hasher.digest(), "big")
    # 0 and 2**128-1 are reserved by the ledger; 1 in 2**127 odds, but refuse rather than clash.
    if value in (0, ID_MAX):
        raise InvalidLedgerField("id", value, "derived id is reserved; change the inputs")
    return value


def transfer_id(originator_id: UUID, originator_version: int, leg: int) -> int:
    """The id of leg `leg` of the transfers caused by one event."""
    if originator_version < 0 or leg < 0:
        raise InvalidLedgerField("leg", (originator_version, leg), "must not be negative")
    return _digest(
        b"transfer",
        originator_id.bytes,
        originator_version.to_bytes(8, "big"),
        leg.to_bytes(4, "big"),
    )


def account_id(kind: str, ledger: int, *owner: str) -> int:
    """The id of the account of `kind` on `ledger` belonging to `owner` (peer, channel, ...)."""
    owners = (part.encode() for part in owner)
    return _digest(b"account", kind.encode(), ledger.to_bytes(4, "big"), *owners)


def packet_key(packet_id: str) -> int:
    """A packet id as 128 bits for a transfer's user_data_128, to find a packet's transfer."""
    try:
        return UUID(packet_id).int
    except ValueError:
        return _digest(b"packet", packet_id.encode())
