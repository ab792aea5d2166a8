"""Claims to a peer's engine carried as RFC 0038 messages through the connectors ("Exchanging
messages": an engine SHOULD proxy its messages through its connector's transport), for the peers
configured so, instead of node to node.

Sending: the claim goes to our connector as `{"type": "claim", "claim": {...}}` on `POST
/accounts/:peer/messages`; the connector carries it to the peer's connector in an ILP Prepare,
which hands it to the peer's engine. The answer comes back the same way: `{"type":
"claim_accepted", ...}` (the ClaimAccepted fields) or `{"type": "claim_rejected", "retryable":
..., ...}` (the ClaimRejected fields). Receiving: our engine's message handler hands a claim to
the same `ClaimHandler` as the claims route, once the account it came through (the peer the
connector knows) is the claim's sender. Any other message goes to the next handler.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection
from typing import Any, Protocol

from pydantic import ValidationError

from application.claim_handling import ClaimHandler
from application.claim_messages import (
    Claim,
    ClaimAccepted,
    CooperativeTerms,
    RejectionCode,
    describe_validation_error,
)
from application.engine_messages import UnknownMessage
from domain.channel import Channel
from domain.final_balances import CooperativeSettlement
from domain.fingerprint import canonical_json
from domain.peer_account import PeerAccount
from domain.settlement import Settlement

log = logging.getLogger(__name__)

# A rejection the sender may retry: the receiver has not caught up yet, or failed inside.
_RETRYABLE = {RejectionCode.RETRY_LATER, RejectionCode.UNKNOWN_CHANNEL, RejectionCode.INTERNAL}


class EngineMessenger(Protocol):
    def send_message(self, account_id: str, message: bytes) -> bytes:
        """Sends raw bytes to the peer's engine through our connector; its answer. Raises an
        error tagged `retryable` when no answer came."""
        ...


class ClaimMessageRefused(Exception):
    """The peer's engine refused the claim (or answered nonsense), read as the claim client's
    errors are: `retryable`, and `error` the peer's code."""

    def __init__(self, retryable: bool, error: str, detail: str) -> None:
        self.retryable = retryable
        self.error = error
        self.detail = detail
        super().__init__(f"claim refused through the connector: {error}: {detail}")


class InnerDelivery(Protocol):
    """The node-to-node ClaimPort, which also builds the claims (ClaimDelivery)."""

    def claim_for(
        self,
        account: PeerAccount,
        settlement: Settlement,
        channel: Channel,
        terms: CooperativeTerms | None = None,
    ) -> Claim: ...

    def deliver(self, account: PeerAccount, settlement: Settlement, channel: Channel) -> str: ...

    def deliver_cooperatively(
        self,
        account: PeerAccount,
        settlement: Settlement,
        channel: Channel,
        terms: CooperativeSettlement,
        our_signature: str,
    ) -> tuple[str, str]: ...


class MessageClaimDelivery:
    """The ClaimPort: through the connectors for `peers`, node to node for every other."""

    def __init__(
        self, inner: InnerDelivery, messenger: EngineMessenger, peers: Collection[str]
    ) -> None:
        self.inner = inner
        self.messenger = messenger
        self.peers = frozenset(peers)

    def deliver(self, account: PeerAccount, settlement: Settlement, channel: Channel) -> str:
        if account.peer_id not in self.peers:
            return self.inner.deliver(account, settlement, channel)
        accepted = self._send(account, self.inner.claim_for(account, settlement, channel))
        return f"{accepted.status}:{accepted.receipt}"

    def deliver_cooperatively(
        self,
        account: PeerAccount,
        settlement: Settlement,
        channel: Channel,
        terms: CooperativeSettlement,
        our_signature: str,
    ) -> tuple[str, str]:
        if account.peer_id not in self.peers:
            return self.inner.deliver_cooperatively(
                account, settlement, channel, terms, our_signature
            )
        raise ClaimMessageRefused(
            False, "unsupported", "cooperative settlement travels node to node only"
        )

    def _send(self, account: PeerAccount, claim: Claim) -> ClaimAccepted:
        message = {"type": "claim", "claim": claim.model_dump(mode="json")}
        answer = self.messenger.send_message(account.peer_id, canonical_json(message).encode())
        try:
            decoded = json.loads(answer)
            kind = decoded.pop("type")
            if kind == "claim_accepted":
                accepted = ClaimAccepted.model_validate(decoded)
                if accepted.claim_id == claim.claim_id:
                    return accepted
            elif kind == "claim_rejected":
                error = str(decoded["error"])
                raise ClaimMessageRefused(bool(decoded["retryable"]), error, decoded["detail"])
        except (ValueError, KeyError, TypeError, AttributeError, ValidationError):
            pass
        # The peer may have credited it; the same claim id again is harmless.
        raise ClaimMessageRefused(True, "bad_response", repr(answer[:200]))


class ClaimMessages:
    """An engine message handler: claims to `handler`, every other message to `other`."""

    def __init__(self, handler: ClaimHandler, other: Callable[[str, bytes], bytes]) -> None:
        self.handler = handler
        self.other = other

    def __call__(self, account_id: str, message: bytes) -> bytes:
        try:
            decoded: Any = json.loads(message)
        except (UnicodeDecodeError, ValueError):
            raise UnknownMessage("is not a JSON message") from None
        if not isinstance(decoded, dict) or decoded.get("type") != "claim":
            return self.other(account_id, message)
        try:
            claim = Claim.model_validate(decoded.get("claim"))
        except ValidationError as error:
            raise UnknownMessage(describe_validation_error(error)) from None
        if claim.sender_node != account_id:
            return _rejected(claim, RejectionCode.INVALID, "the sender is not this account's peer")
        try:
            outcome = self.handler.handle(claim)
        except Exception:
            log.exception("claim handler failed", extra={"claim_id": claim.claim_id})
            return _rejected(claim, RejectionCode.INTERNAL, "send the same claim again later")
        if not outcome.accepted:
            return _rejected(claim, outcome.error or RejectionCode.INTERNAL, outcome.detail)
        answer = ClaimAccepted(
            claim_id=claim.claim_id,
            status="duplicate" if outcome.duplicate else "accepted",
            receipt=outcome.receipt,
            cooperative_signature=outcome.cooperative_signature,
        )
        return canonical_json({"type": "claim_accepted", **answer.model_dump(mode="json")}).encode()


def _rejected(claim: Claim, error: str, detail: str) -> bytes:
    answer = {
        "type": "claim_rejected",
        "claim_id": claim.claim_id,
        "error": str(error),
        "detail": detail,
        "retryable": error in _RETRYABLE,
    }
    return canonical_json(answer).encode()
