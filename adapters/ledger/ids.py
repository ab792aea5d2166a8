"""Deterministic 128-bit ledger ids: the same facts always give the same id.

A transfer id comes from the event that caused it (its aggregate id and version) and the
leg index within that event, so posting the same event twice yields `exists`, never a second
transfer. An account id comes from its kind and what it belongs to (peer, asset, channel).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from uuid import UUID

from adapters.ledger.errors import InvalidLedgerField
from adapters.ledger.port import ID_MAX


def _digest(person: bytes, *parts: bytes) -> int:
    """BLAKE2b-128 of length-prefixed parts, personalised per kind of id."""
    data = b"".join(len(part).to_bytes(4, "big") + part for part in parts)
    value = int.from_bytes(hashlib.blake2b(data, digest_size=16, person=person).digest(), "big")
    # 0 and 2**128-1 are reserved by the ledger; 1 in 2**127 odds, but refuse rather than clash.
    if value in (0, ID_MAX):
        raise InvalidLedgerField("id", value, "derived id is reserved; change the inputs")
    return value


def transfer_id(originator_id: UUID, originator_version: int, leg: int) -> int:
    """The id of leg `leg` of the transfers caused by one event."""
    if originator_version < 0 or leg < 0:
        raise InvalidLedgerField("leg", (originator_version, leg), "must not be negative")
    # Fixed-size fields: no length prefixes needed.
    data = originator_id.bytes + originator_version.to_bytes(8, "big") + leg.to_bytes(4, "big")
    value = int.from_bytes(hashlib.blake2b(data, digest_size=16, person=b"transfer").digest())
    if value in (0, ID_MAX):
        raise InvalidLedgerField("id", value, "derived id is reserved; change the inputs")
    return value


def transfer_ids(originator_id: UUID, originator_version: int, legs: int) -> list[int]:
    """`transfer_id` of legs 0 .. legs-1 of one event: the event's part is hashed once."""
    if originator_version < 0:
        raise InvalidLedgerField("leg", (originator_version, 0), "must not be negative")
    prefix = hashlib.blake2b(
        originator_id.bytes + originator_version.to_bytes(8, "big"),
        digest_size=16,
        person=b"transfer",
    )
    values = []
    for leg in range(legs):
        digest = prefix.copy()
        digest.update(leg.to_bytes(4, "big"))
        values.append(int.from_bytes(digest.digest()))
    if 0 in values or ID_MAX in values:
        raise InvalidLedgerField("id", 0, "derived id is reserved; change the inputs")
    return values


def account_id(kind: str, ledger: int, *owner: str) -> int:
    """The id of the account of `kind` on `ledger` belonging to `owner` (peer, channel, ...)."""
    owners = (part.encode() for part in owner)
    return _digest(b"account", kind.encode(), ledger.to_bytes(4, "big"), *owners)


def packet_key(packet_id: str) -> int:
    """A packet id as 128 bits for a transfer's user_data_128, to find a packet's transfer."""
    if len(packet_id) in (32, 36):
        try:
            return UUID(packet_id).int
        except ValueError:
            pass
    return _digest(b"packet", packet_id.encode())


def packet_keys(packet_ids: Iterable[str]) -> list[int]:
    """`packet_key` of each packet id, with the digest's setup done once."""
    keys = []
    blake2b, packet = hashlib.blake2b, b"packet"
    for packet_id in packet_ids:
        if len(packet_id) in (32, 36):
            keys.append(packet_key(packet_id))
            continue
        data = packet_id.encode()
        key = int.from_bytes(
            blake2b(len(data).to_bytes(4, "big") + data, digest_size=16, person=packet).digest()
        )
        if key in (0, ID_MAX):
            raise InvalidLedgerField("id", key, "derived id is reserved; change the inputs")
        keys.append(key)
    return keys
