"""The keys a node can sign with, by address: the active one for new channels, and each older
key for the channels opened with it until they are settled."""

from __future__ import annotations

from collections.abc import Iterable

from adapters.signing.signer import Signer, SignerUnavailable
from domain.address import Address


class KeySet:
    def __init__(self, active: Signer, others: Iterable[Signer] = ()) -> None:
        self.active = active
        self._by_address = {Address(s.address, "signer address"): s for s in (*others, active)}

    def addresses(self) -> list[str]:
        return sorted(self._by_address)

    def for_channel(self, our_address: str) -> Signer:
        """The signer of a channel opened with `our_address`."""
        signer = self._by_address.get(Address(our_address, "our_address"))
        if signer is None:
            raise SignerUnavailable(f"key {our_address}", "not loaded on this node")
        return signer

    def for_new_channels(self) -> Signer:
        return self.active

    def older(self) -> list[Signer]:
        """The loaded keys other than the active one, by address: kept for their channels."""
        active = Address(self.active.address)
        return [s for a, s in sorted(self._by_address.items()) if a != active]
