"""Claims between two settlement-ledger nodes over HTTP: messages, the receiving server, the client.

Modelled on the RFC 0038 settlement-engine messages: `POST /accounts/{sender_node}/claims` with a
bearer token and an `Idempotency-Key` equal to the claim id. Verification and crediting live
behind the `ClaimHandler` protocol, in the application layer.
"""

from adapters.claims.client import ClaimClient
from adapters.claims.errors import ClaimServerNotStarted, ClaimTransportError, DeliveryFailed
from adapters.claims.handler import ClaimHandler, ClaimOutcome
from adapters.claims.messages import (
    MAX_UINT256,
    ChannelRef,
    Claim,
    ClaimAccepted,
    ClaimRejected,
    RejectionCode,
    SignedProof,
)
from entrypoints.http.claims_server import ClaimServer

__all__ = [
    "MAX_UINT256",
    "ChannelRef",
    "Claim",
    "ClaimAccepted",
    "ClaimClient",
    "ClaimHandler",
    "ClaimOutcome",
    "ClaimRejected",
    "ClaimServer",
    "ClaimServerNotStarted",
    "ClaimTransportError",
    "DeliveryFailed",
    "RejectionCode",
    "SignedProof",
]
