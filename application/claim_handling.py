"""The seam between the claim transport and the application that verifies and credits claims."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from application.claim_messages import Claim, RejectionCode


@dataclass(frozen=True)
class ClaimOutcome:
    """What the application decided about one claim.

    Accepted: `receipt` identifies the credit (the same receipt again when `duplicate`).
    Rejected: `error` is a code such as "stale_proof" (see RejectionCode) and `detail` says why.
    """

    accepted: bool
    duplicate: bool = False
    error: str | None = None
    detail: str = ""
    receipt: str = ""
    cooperative_signature: str | None = None  # the receiver's signature of the claim's terms

    def __post_init__(self) -> None:
        if self.accepted and self.error is not None:
            raise ValueError(f"error={self.error!r}: an accepted claim carries no error")
        if not self.accepted and not self.error:
            raise ValueError("error: a rejected claim needs an error code")
        if not self.accepted and self.duplicate:
            raise ValueError("duplicate=True: only an accepted claim can be a duplicate")

    @classmethod
    def credited(cls, receipt: str, cooperative_signature: str | None = None) -> ClaimOutcome:
        return cls(accepted=True, receipt=receipt, cooperative_signature=cooperative_signature)

    @classmethod
    def already_credited(
        cls, receipt: str, cooperative_signature: str | None = None
    ) -> ClaimOutcome:
        return cls(
            accepted=True,
            duplicate=True,
            receipt=receipt,
            cooperative_signature=cooperative_signature,
        )

    @classmethod
    def rejected(cls, error: RejectionCode | str, detail: str) -> ClaimOutcome:
        return cls(accepted=False, error=str(error), detail=detail)


class ClaimHandler(Protocol):
    """Verifies a claim (signature, channel, chain, monotonicity) and credits it at most once.

    Called from the server's request threads, possibly concurrently; must be thread-safe and
    idempotent per `claim.claim_id`. An exception becomes a retryable 500 for the sender.
    """

    def handle(self, claim: Claim) -> ClaimOutcome: ...
