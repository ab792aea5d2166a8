"""Keys as the application sees them: the port that records each key use, and the start-up
check that every channel still open can be signed for.

A channel signs with the key of its `our_address` until it is settled, whichever key is active
for new channels; a node that could not sign for one of its channels (an update after a close,
a cooperative settle) must not start, and says which channel and which key it lacks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from domain.address import Address
from domain.key_audit import KeyRing


class KeyUseLog(Protocol):
    """Where a signer decorator records each key use before the signature is made."""

    def record_key_use(self, reference: str, address: str, purpose: str, digest: str) -> bool: ...


class KeyRingStore(KeyUseLog, Protocol):
    """The application's key use cases, as the node's start-up and the CLI use them."""

    def key_ring(self) -> KeyRing | None: ...

    def activate_key(self, reference: str, address: str) -> bool: ...


@dataclass(frozen=True)
class ChannelKeyNeed:
    channel_id: str
    peer_id: str
    our_address: Address
    state: str


class ChannelKeyUnavailable(Exception):
    """A channel still open was opened with a key this node cannot sign with now."""

    retryable = False
    alert = True

    def __init__(self, missing: list[ChannelKeyNeed]) -> None:
        self.missing = missing
        names = ", ".join(
            f"channel {need.channel_id} (peer {need.peer_id}, {need.state}) needs key"
            f" {need.our_address}"
            for need in missing
        )
        super().__init__(f"refusing to start: {names}, which is not available")


# Channels that may still need our signature: any not settled, failed or abandoned.
def require_channel_keys(needs: Iterable[ChannelKeyNeed], available: Iterable[str]) -> None:
    """Raises ChannelKeyUnavailable naming every open channel whose key is not available."""
    have = {Address(address, "available address") for address in available}
    missing = [need for need in needs if need.our_address not in have]
    if missing:
        raise ChannelKeyUnavailable(missing)
