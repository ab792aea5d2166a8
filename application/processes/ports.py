"""What the settlement executor needs of the outside world, as ports the wiring fills in.

`Terms` is the chain's own type for the final balances of a cooperative settlement (opaque
here): the channel port makes and signs them, the claim port carries them to the peer.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar
from uuid import UUID

from domain.channel import Channel
from domain.peer_account import PeerAccount
from domain.settlement import Settlement

Terms = TypeVar("Terms")
TermsIn = TypeVar("TermsIn", contravariant=True)


@dataclass(frozen=True)
class ChannelReadiness:
    channel_id: UUID
    tx_hash: str | None  # the last on-chain transaction this took (open or deposit), if any


@dataclass(frozen=True)
class Routing:
    rail: str
    decision: dict[str, Any]


class ChannelPort(Protocol[Terms]):
    def ensure_channel(
        self, account: PeerAccount, rail: str, amount: int, at: datetime, *, may_send: bool = True
    ) -> ChannelReadiness | None:
        """A usable channel that can carry `amount` (ledger minor units) more: opened and topped
        up on chain if needed, crash-safely (signed transactions recorded before broadcast).
        With `may_send` False, nothing is requested or sent: None if something would be."""
        ...

    def ready_channel(self, account: PeerAccount, rail: str, amount: int) -> bool:
        """Whether `ensure_channel` would find a channel ready for `amount` more and send no
        transaction: then the rail choice may wait to be recorded with the channel's readiness
        (a crash in between repeats no side effect). A hint, decided on a view."""
        ...

    def token_amount(self, channel: Channel, amount: int, asset_scale: int) -> int:
        """`amount` in ledger minor units as token base units, exactly."""
        ...

    def sign_proof(self, channel: Channel, nonce: int, transferred_amount: int) -> str:
        """Our EIP-712 signature (hex) of the balance proof."""
        ...

    def abandon(self, channel_id: UUID, reason: str) -> None:
        """Stops using a channel that closed or is disputed."""
        ...

    def cooperative_settlement(
        self, channel: Channel, our_transferred: int, partner_transferred: int
    ) -> Terms:
        """The channel's final balances with these cumulative transfers."""
        ...

    def sign_cooperative(self, channel: Channel, settlement: Terms) -> str:
        """Our signature (hex) of the final balances."""
        ...

    def settle_cooperatively(
        self, channel_id: UUID, settlement: Terms, ours: str, theirs: str
    ) -> str:
        """Submits the cooperative settlement with both signatures; returns its transaction."""
        ...


class ClaimPort(Protocol):
    def deliver(self, account: PeerAccount, settlement: Settlement, channel: Channel) -> str:
        """Delivers the settlement's signed claim to the peer; returns the peer's receipt."""
        ...


class CooperativeClaimPort(ClaimPort, Protocol[TermsIn]):
    def deliver_cooperatively(
        self,
        account: PeerAccount,
        settlement: Settlement,
        channel: Channel,
        terms: TermsIn,
        our_signature: str,
    ) -> tuple[str, str]:
        """Delivers the claim with the signed final balances; returns the peer's receipt and
        its signature of the same balances."""
        ...


class RailPort(Protocol):
    def route(self, account: PeerAccount, exclude: Collection[str] = ()) -> Routing:
        """Chooses a rail for the peer and says why (scores), passing over `exclude` if it can."""
        ...

    def record_outcome(self, rail: str, success: bool, latency_ms: int | None) -> None: ...


class LedgerProgress(Protocol):
    def caught_up_with(self, settlement: Settlement) -> bool:
        """Whether the ledger holds the transfers of the settlement's recorded events."""
        ...


@dataclass(frozen=True)
class FailureFacts:
    error_class: str
    message: str
    retryable: bool
    alert: bool
    channel_lost: bool
    patient: bool = False  # the other side asked us to try again later: not a fault of ours


def failure_facts(error: BaseException) -> FailureFacts:
    """Reads the classification adapters put on their errors (retryable, alert, channel lost)."""
    return FailureFacts(
        error_class=type(error).__name__,
        message=str(error)[:500],
        retryable=bool(getattr(error, "retryable", False)),
        alert=bool(getattr(error, "alert", False)),
        channel_lost=bool(getattr(error, "channel_lost", False)),
        patient=bool(getattr(error, "patient", False))
        or getattr(error, "error", None) == "retry_later",
    )
