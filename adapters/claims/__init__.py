"""Claims between two settlement-ledger nodes over HTTP: the client that delivers ours.

Modelled on the RFC 0038 settlement-engine messages: `POST /accounts/{sender_node}/claims` with a
bearer token and an `Idempotency-Key` equal to the claim id. The messages are the application's
(`application.claim_messages`); the receiving endpoint is an entry point (`entrypoints/http`).
"""

from adapters.claims.client import ClaimClient, claim_sender
from adapters.claims.errors import ClaimServerNotStarted, ClaimTransportError, DeliveryFailed

__all__ = [
    "ClaimClient",
    "ClaimServerNotStarted",
    "ClaimTransportError",
    "DeliveryFailed",
    "claim_sender",
]
