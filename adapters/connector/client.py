"""Tells our connector of an incoming settlement: `POST {connector}/accounts/{id}/settlements`
with a Quantity and the notice's Idempotency-Key (RFC 0038 "Credit incoming settlement").

A 2xx is the acknowledgement; its body, when it is a Quantity, is what the connector credited
(all of it otherwise). A 4xx other than 408/429 is a refusal (`ConnectorRefused`); no answer,
408, 429 and 5xx raise `ConnectorUnavailable`, tagged retryable.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import httpx

from application.engine_notices import ConnectorRefused
from application.engine_quantity import InvalidQuantity, Quantity, parse_quantity


class ConnectorUnavailable(Exception):
    """No answer, or an answer saying to try again later."""

    retryable = True

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(f"connector unavailable: {problem}")


class ConnectorClient:
    def __init__(
        self, base_url: str, *, token: str | None = None, timeout_seconds: float = 10.0
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=base_url, headers=headers, timeout=timeout_seconds)

    def close(self) -> None:
        self._http.close()

    def credit_incoming(self, account_id: str, key: str, quantity: Quantity) -> Quantity:
        try:
            response = self._http.post(
                f"/accounts/{quote(account_id, safe='')}/settlements",
                content=json.dumps(quantity.as_json()),
                headers={
                    "Idempotency-Key": key,
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                },
            )
        except httpx.HTTPError as error:
            raise ConnectorUnavailable(f"{type(error).__name__}: {error}") from None
        status = response.status_code
        if status in (408, 429) or status >= 500:
            raise ConnectorUnavailable(f"HTTP {status}")
        if status >= 400:
            raise ConnectorRefused(status, response.text[:200])
        if status < 200 or status >= 300:
            raise ConnectorUnavailable(f"HTTP {status}")
        try:
            return parse_quantity(response.json())
        except (ValueError, InvalidQuantity):
            return quantity  # no Quantity in the answer: all of it was credited

    def send_message(self, account_id: str, message: bytes) -> bytes:
        """RFC 0038 "Exchanging messages": raw bytes to the peer's engine through the connector
        (`POST /accounts/:id/messages`); the peer engine's answer. No answer, or an answer other
        than 2xx, raises `ConnectorUnavailable` (retryable: messages carry their own ids)."""
        try:
            response = self._http.post(
                f"/accounts/{quote(account_id, safe='')}/messages",
                content=message,
                headers={
                    "Content-Type": "application/octet-stream",
                    "Accept": "application/octet-stream",
                },
            )
        except httpx.HTTPError as error:
            raise ConnectorUnavailable(f"{type(error).__name__}: {error}") from None
        if not 200 <= response.status_code < 300:
            raise ConnectorUnavailable(f"HTTP {response.status_code}: {response.text[:200]}")
        return response.content
