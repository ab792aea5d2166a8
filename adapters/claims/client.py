"""The sending end: delivers one claim to a peer's claims endpoint and classifies the answer."""

from __future__ import annotations

import http.client
import logging
from collections.abc import Callable
from urllib.parse import quote, urlsplit

from pydantic import ValidationError

from adapters.claims.errors import DeliveryFailed, InvalidClaimClientSetting
from application.claim_messages import Claim, ClaimAccepted, ClaimRejected

logger = logging.getLogger(__name__)

_MAX_ANSWER_BYTES = 64 * 1024
# Statuses where the same request may succeed later: the peer was busy or failed internally.
_RETRYABLE_CLIENT_STATUSES = frozenset({408, 425, 429})


class ClaimClient:
    """Posts claims to one peer (`base_url`, e.g. http://127.0.0.1:8080) with a bearer token."""

    def __init__(self, base_url: str, token: str, timeout_seconds: float) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidClaimClientSetting(
                "base_url", base_url, "must be an http(s) URL with a host"
            )
        if not token or any(char in token for char in "\r\n "):
            raise InvalidClaimClientSetting(
                "token", "<hidden>", "must be non-empty, without spaces or line breaks"
            )
        if not timeout_seconds > 0:
            raise InvalidClaimClientSetting("timeout_seconds", timeout_seconds, "must be > 0")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._base_path = parts.path.rstrip("/")
        self._base_url = base_url
        self._token = token
        self._timeout_seconds = timeout_seconds

    def deliver(self, claim: Claim) -> ClaimAccepted:
        """Sends `claim`; returns the peer's acceptance or raises DeliveryFailed."""
        path = f"{self._base_path}/accounts/{quote(claim.sender_node, safe='')}/claims"
        body = claim.model_dump_json().encode()
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {self._token}",
            "Idempotency-Key": claim.claim_id,
        }
        connection = self._connection()
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            status = response.status
            answer = response.read(_MAX_ANSWER_BYTES + 1)
        except TimeoutError as error:
            raise self._failed(claim, True, None, "timeout", f"no answer: {error}") from error
        except (OSError, http.client.HTTPException) as error:
            problem = f"{type(error).__name__}: {error}"
            raise self._failed(claim, True, None, "unreachable", problem) from error
        finally:
            connection.close()
        return self._accepted_or_raise(claim, status, answer)

    def _connection(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=self._timeout_seconds
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout_seconds)

    def _accepted_or_raise(self, claim: Claim, status: int, answer: bytes) -> ClaimAccepted:
        if status == 200:
            try:
                accepted = ClaimAccepted.model_validate_json(answer)
            except ValidationError as error:
                # The peer may have credited it; resending the same claim id is harmless.
                raise self._failed(claim, True, status, "bad_response", str(error)) from error
            if accepted.claim_id != claim.claim_id:
                detail = f"claim_id: answer names {accepted.claim_id!r}"
                raise self._failed(claim, True, status, "bad_response", detail)
            logger.info(
                "claim delivered",
                extra={
                    "claim_id": claim.claim_id,
                    "status": accepted.status,
                    "peer": self._base_url,
                },
            )
            return accepted
        retryable = status >= 500 or status in _RETRYABLE_CLIENT_STATUSES
        try:
            rejected = ClaimRejected.model_validate_json(answer)
            code, detail = rejected.error, rejected.detail
        except ValidationError:
            code, detail = f"http_{status}", answer[:200].decode(errors="replace")
        raise self._failed(claim, retryable, status, code, detail)

    def _failed(
        self, claim: Claim, retryable: bool, status: int | None, error: str, detail: str
    ) -> DeliveryFailed:
        logger.warning(
            "claim not delivered",
            extra={
                "claim_id": claim.claim_id,
                "peer": self._base_url,
                "retryable": retryable,
                "status": status,
                "error": error,
            },
        )
        return DeliveryFailed(retryable, status, error, detail, claim_id=claim.claim_id)


def claim_sender(timeout_seconds: float) -> Callable[[str, str, Claim], ClaimAccepted]:
    """The application's ClaimSender: one client per delivery (each peer has its own URL)."""

    def send(base_url: str, token: str, claim: Claim) -> ClaimAccepted:
        return ClaimClient(base_url, token, timeout_seconds).deliver(claim)

    return send
