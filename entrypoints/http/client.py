"""A small typed client for the node's service API (httpx), for connectors, operators and tests.

Each method returns the parsed body, or raises `ApiError` carrying the status and the problem
document; `send` gives the raw response when the bytes themselves matter.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx


class ApiError(Exception):
    """A 4xx or 5xx answer, with its problem document (RFC 9457)."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        self.fields = [str(e.get("field")) for e in problem.get("errors", [])]
        super().__init__(f"HTTP {status}: {problem.get('detail', problem.get('title', ''))}")


class ApiClient:
    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=base_url, headers=headers, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The raw response, whatever its status."""
        return self._http.request(method, path, **kwargs)

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.send(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"title": response.text[:200]}
            raise ApiError(response.status_code, body if isinstance(body, dict) else {})
        return response.json()

    # Connector

    def record_packets(
        self, peer: str, asset: str, batch_id: str, entries: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        """Records a batch; the same batch again returns the same body."""
        body = {"batch_id": batch_id, "entries": list(entries)}
        result: dict[str, Any] = self._json("POST", _batches(peer, asset), json=body)
        return result

    # Reads

    def balances(
        self, peer: str | None = None, *, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        return self._page("/v1/balances", peer=peer, limit=limit, cursor=cursor)

    def channels(
        self, peer: str | None = None, *, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        return self._page("/v1/channels", peer=peer, limit=limit, cursor=cursor)

    def settlements(
        self,
        *,
        status: str | None = None,
        peer: str | None = None,
        stuck: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        return self._page(
            "/v1/settlements", status=status, peer=peer, stuck=stuck, limit=limit, cursor=cursor
        )

    def history(
        self, aggregate: str, *, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        """`aggregate` is a UUID, or PEER/ASSET for a peer account."""
        path = "/v1/history/" + "/".join(quote(part, safe="") for part in aggregate.split("/"))
        return self._page(path, limit=limit, cursor=cursor)

    def _page(self, path: str, **query: Any) -> dict[str, Any]:
        params = {k: v for k, v in query.items() if v is not None}
        result: dict[str, Any] = self._json("GET", path, params=params)
        return result

    # Operator

    def pause(self, peer: str, asset: str, reason: str) -> dict[str, Any]:
        return self._account("POST", peer, asset, "pause", {"reason": reason})

    def resume(self, peer: str, asset: str) -> dict[str, Any]:
        return self._account("POST", peer, asset, "resume", None)

    def change_threshold(
        self, peer: str, asset: str, threshold: int, settle_to: int
    ) -> dict[str, Any]:
        body = {"threshold": threshold, "settle_to": settle_to}
        return self._account("PUT", peer, asset, "threshold", body)

    def change_credit_limit(self, peer: str, asset: str, credit_limit: int) -> dict[str, Any]:
        return self._account("PUT", peer, asset, "credit-limit", {"credit_limit": credit_limit})

    def _account(
        self, method: str, peer: str, asset: str, action: str, body: dict[str, Any] | None
    ) -> dict[str, Any]:
        result: dict[str, Any] = self._json(method, f"{_account(peer, asset)}/{action}", json=body)
        return result

    def close_channel(self, channel_id: str, reason: str) -> dict[str, Any]:
        """Closes the channel on chain (the leader only: 409 from a standby names the leader)."""
        path = f"/v1/operator/channels/{quote(str(channel_id), safe='')}/close"
        result: dict[str, Any] = self._json("POST", path, json={"reason": reason})
        return result

    def settle_channel(self, channel_id: str) -> dict[str, Any]:
        """Pays out a closed channel after its challenge period (the leader only)."""
        path = f"/v1/operator/channels/{quote(str(channel_id), safe='')}/settle"
        result: dict[str, Any] = self._json("POST", path)
        return result

    def rails(self) -> dict[str, Any]:
        """Each rail's breaker state and routing score, live from the node."""
        result: dict[str, Any] = self._json("GET", "/v1/operator/rails")
        return result

    # Health

    def healthz(self) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", "/healthz")
        return result

    def readyz(self) -> httpx.Response:
        """The raw response: 200 when ready, 503 when not, the body saying why either way."""
        return self.send("GET", "/readyz")


def _account(peer: str, asset: str) -> str:
    return f"/v1/peers/{quote(peer, safe='')}/assets/{quote(asset, safe='')}"


def _batches(peer: str, asset: str) -> str:
    return f"{_account(peer, asset)}/packet-batches"
