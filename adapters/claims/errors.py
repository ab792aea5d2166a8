"""Claim transport errors, with the facts as attributes."""

from __future__ import annotations


class ClaimTransportError(Exception):
    """Base class for everything the claim transport raises."""


class DeliveryFailed(ClaimTransportError):
    """A claim did not reach the peer's ledger, or the peer refused it.

    `retryable` says whether sending the same claim again may succeed: true when the peer could
    not be reached, timed out or failed internally (the claim id makes a resend harmless); false
    when the peer answered that the claim, the request or our credentials are wrong.
    `status` is the HTTP status, or None when no answer came; `error` is the peer's code
    (e.g. "stale_proof") or ours ("unreachable", "timeout", "bad_response").
    """

    def __init__(
        self,
        retryable: bool,
        status: int | None,
        error: str,
        detail: str,
        claim_id: str | None = None,
    ) -> None:
        self.retryable = retryable
        self.status = status
        self.error = error
        self.detail = detail
        self.claim_id = claim_id
        kind = "retryable" if retryable else "final"
        super().__init__(
            f"claim {claim_id!r} not delivered ({kind}, status={status}, error={error!r}): {detail}"
        )


class InvalidClaimClientSetting(ClaimTransportError):
    """A ClaimClient setting is unusable; the message names the setting, never the token."""

    def __init__(self, setting: str, value: object, problem: str) -> None:
        self.setting = setting
        self.value = value
        self.problem = problem
        super().__init__(f"{setting}={value!r}: {problem}")


class ClaimServerNotStarted(ClaimTransportError):
    """The ClaimServer was asked for its address (or stopped) before it was started."""

    def __init__(self, operation: str) -> None:
        self.operation = operation
        super().__init__(f"claim server not started: cannot {operation}")
