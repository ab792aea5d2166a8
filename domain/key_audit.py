"""Signing keys: which key new channels use (the key ring, rotated by the operator) and every
use of a key (what it signed, never the key).

A key is named by a reference that says where it lives (`pkcs11:<label>`, `kms:<key id>`,
`keystore:<path>`, `env:<variable>`), never by its material. Rotation only changes which key
new channels use: a channel keeps signing with the key of its `our_address` until it is settled.
"""

from __future__ import annotations

import re
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.address import Address
from domain.errors import DomainError, InvalidField
from domain.ids import derive_id

_REFERENCE = re.compile(r"^(pkcs11|kms|keystore|env):[^\s]{1,256}$")
_DIGEST = re.compile(r"^0x[0-9a-f]{64}$")
KEY_RING = "node"
MAX_KEYS = 64  # a ring is rotated by hand; more keys than this is a mistake, not a history


class KeyPurpose(StrEnum):
    TRANSACTION = "transaction"
    BALANCE_PROOF = "balance_proof"
    COOPERATIVE_SETTLE = "cooperative_settle"


def check_reference(reference: str) -> str:
    if not isinstance(reference, str) or not _REFERENCE.match(reference):
        raise InvalidField(
            "key", reference, "must be pkcs11:<label>, kms:<key id>, keystore:<path> or env:<var>"
        )
    return reference


class KeyAlreadyActive(DomainError):
    def __init__(self, reference: str) -> None:
        self.reference = reference
        super().__init__(f"key {reference} is already the active key")


class KeyAddressChanged(DomainError):
    """One reference now opens a different key than the one recorded: never silently accepted."""

    def __init__(self, reference: str, recorded: str, found: str) -> None:
        self.reference = reference
        self.recorded = recorded
        self.found = found
        super().__init__(f"key {reference} was {recorded} and now opens {found}")


class KeyRing(Aggregate):
    """The node's signing keys: reference -> address, and the one new channels use."""

    @staticmethod
    def create_id(name: str = KEY_RING) -> UUID:
        return derive_id("key-ring", name)

    class Started(Aggregate.Created):
        name: str

    @event(Started)
    def __init__(self, name: str) -> None:
        self.name = name
        self.keys: dict[str, str] = {}
        self.active: str | None = None

    def active_address(self) -> Address | None:
        return None if self.active is None else Address(self.keys[self.active])

    def reference_of(self, address: str) -> str | None:
        wanted = Address(address, "address")
        return next((ref for ref, known in self.keys.items() if Address(known) == wanted), None)

    def activate(self, reference: str, address: str) -> bool:
        """Makes `reference` (opening `address`) the key of new channels; False if it was."""
        check_reference(reference)
        found = Address(address, "address")
        recorded = self.keys.get(reference)
        if recorded is not None and Address(recorded) != found:
            raise KeyAddressChanged(reference, recorded, found)
        if self.active == reference:
            return False
        if recorded is None and len(self.keys) >= MAX_KEYS:
            raise InvalidField("key", reference, f"the ring already holds {MAX_KEYS} keys")
        self._activated(reference=reference, address=str(found), previous=self.active)
        return True

    class Activated(Aggregate.Event):
        reference: str
        address: str
        previous: str | None

    @event(Activated)
    def _activated(self, reference: str, address: str, previous: str | None) -> None:
        self.keys[reference] = address
        self.active = reference


class KeyUse(Aggregate):
    """One signature made: by which key, for what, over which digest. Its id is derived from
    those facts, so signing the same digest again (a retry after a crash) records nothing new."""

    @staticmethod
    def create_id(reference: str, purpose: str, digest: str) -> UUID:
        return derive_id("key-use", reference, purpose, digest)

    class Recorded(Aggregate.Created):
        reference: str
        address: str
        purpose: str
        digest: str

    @event(Recorded)
    def __init__(self, reference: str, address: str, purpose: str, digest: str) -> None:
        self.reference = reference
        self.address = address
        self.purpose = purpose
        self.digest = digest

    @classmethod
    def record(cls, reference: str, address: str, purpose: str, digest: str) -> KeyUse:
        check_reference(reference)
        if purpose not in {p.value for p in KeyPurpose}:
            raise InvalidField("purpose", purpose, "is not a key purpose")
        if not isinstance(digest, str) or not _DIGEST.match(digest):
            raise InvalidField("digest", digest, "must be 0x and 64 lower-case hex digits")
        return cls(
            reference=reference,
            address=str(Address(address, "address")),
            purpose=purpose,
            digest=digest,
        )
