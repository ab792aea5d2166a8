"""PeerAccount: what we owe a peer and what the peer owes us, in one asset.

payable: we owe the peer (raised by outgoing packets); receivable: the peer owes us (raised
by incoming packets, bounded by the credit limit); in-flight: payable reserved for a settlement.

The account is made of parts, one module each: packet batches (`domain.packet_batches`),
settlements we pay (`domain.settlement_reservations`), claims the peer pays us
(`domain.received_claims`) and administration (`domain.peer_administration`). Their events are
PeerAccount's: the library redefines the events of a direct base class on the aggregate, so they
are stored as `domain.peer_account:PeerAccount.<Name>`, as they were before the split.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import AccountPaused, InvalidField
from domain.ids import derive_id
from domain.money import Asset, check_amount
from domain.packet_batches import (
    MAX_BATCH_ENTRIES,
    BatchResult,
    Direction,
    PacketBatches,
    PacketEntry,
    RecordedBatch,
    batch_digest,
    legacy_batch_digest,
    same_batch,
)
from domain.peer_administration import MAX_RECENT_FINDINGS, PeerAdministration, check_threshold
from domain.received_claims import ReceivedClaims
from domain.settlement_reservations import OPEN_SETTLEMENT, SettlementReservations

# The packet values are imported from here by many callers.
__all__ = [
    "MAX_BATCH_ENTRIES",
    "MAX_RECENT_FINDINGS",
    "BatchResult",
    "Direction",
    "PacketEntry",
    "PeerAccount",
    "RecordedBatch",
    "batch_digest",
    "check_peer_id",
    "legacy_batch_digest",
    "same_batch",
]


# The parts come first and Aggregate last; the parts are plain classes (not aggregates) whose
# events have their own `apply`, so that the events keep PeerAccount's topics.
class PeerAccount(
    PacketBatches, SettlementReservations, ReceivedClaims, PeerAdministration, Aggregate
):
    # Version 2: recorded batches are no longer kept in the state (see domain.packet_batches).
    # Version 3: nor received claim ids (see domain.received_claims).
    # Version 4: only open settlements are kept, and a count of all of them
    # (see domain.settlement_reservations).
    class_version = 4

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """A snapshot taken before: its `batches` (every batch id ever recorded) is dropped."""
        state.pop("batches", None)

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        """A snapshot taken before: its `claims_received` and `claim_fingerprints` (every claim
        id ever credited) are dropped; the index of received claims holds them."""
        state.pop("claims_received", None)
        state.pop("claim_fingerprints", None)

    @staticmethod
    def upcast_v3_v4(state: dict[str, Any]) -> None:
        """A snapshot taken before: `settlements` held every settlement ever reserved, so its
        size is the count of them; the applied and released ones are dropped."""
        settlements: dict[str, list[Any]] = state["settlements"]
        state["settlements_started"] = len(settlements)
        state["settlements"] = {
            sid: entry for sid, entry in settlements.items() if entry[1] in OPEN_SETTLEMENT
        }

    @staticmethod
    def create_id(peer_id: str, asset_code: str) -> UUID:
        return derive_id("peer-account", peer_id, asset_code)

    class Opened(Aggregate.Created):
        peer_id: str
        asset_code: str
        asset_scale: int
        threshold: int
        settle_to: int
        credit_limit: int

    @event(Opened)
    def __init__(
        self,
        peer_id: str,
        asset_code: str,
        asset_scale: int,
        threshold: int,
        settle_to: int,
        credit_limit: int,
    ) -> None:
        self.peer_id = peer_id
        self.asset_code = asset_code
        self.asset_scale = asset_scale
        self.threshold = threshold
        self.settle_to = settle_to
        self.credit_limit = credit_limit
        self.payable = 0
        self.receivable = 0
        self.in_flight = 0
        self.paused_reason: str | None = None
        self.threshold_armed = True
        # open settlement id (hex) -> [amount, "reserved" | "promised"]
        self.settlements: dict[str, list[Any]] = {}
        self.settlements_started = 0  # every settlement ever reserved, open or finished
        self.address: str | None = None
        self.rails: list[str] = []
        self.preferred_rail: str | None = None
        self.claims_url: str | None = None

    @property
    def asset(self) -> Asset:
        return Asset(self.asset_code, self.asset_scale)

    @classmethod
    def open(
        cls,
        peer_id: str,
        asset: Asset,
        threshold: int,
        settle_to: int,
        credit_limit: int,
    ) -> PeerAccount:
        check_peer_id(peer_id)
        check_threshold(threshold, settle_to)
        check_amount("credit_limit", credit_limit, allow_zero=True)
        return cls(
            peer_id=peer_id,
            asset_code=asset.code,
            asset_scale=asset.scale,
            threshold=threshold,
            settle_to=settle_to,
            credit_limit=credit_limit,
        )

    def _check_not_paused(self) -> None:
        if self.paused_reason is not None:
            raise AccountPaused(self.peer_id, self.asset_code, self.paused_reason)


def check_peer_id(peer_id: str) -> str:
    """Returns `peer_id` if it can name a peer: 1 to 128 printable characters, not padded."""
    if not peer_id or len(peer_id) > 128:
        raise InvalidField("peer_id", peer_id, "must be 1 to 128 characters")
    if not peer_id.isprintable() or peer_id.strip() != peer_id:
        raise InvalidField(
            "peer_id", peer_id, "must be printable, with no line breaks or padding whitespace"
        )
    return peer_id
