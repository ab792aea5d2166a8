"""JSON-RPC over several endpoints of one chain: failover to a healthy backup when the current
endpoint stops answering, and failback to the preferred (first) endpoint once it answers again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import requests
from eth_typing import URI
from web3 import HTTPProvider
from web3.types import RPCEndpoint, RPCResponse

from adapters.evm.errors import RpcUnavailable
from adapters.evm.rpc_observed import RpcObserver, error_kind, observed_call

log = logging.getLogger("adapters.evm.chains")  # the name operators' log filters know
# What says an endpoint is down, not that it refused the call: only these fail over.
_UNREACHABLE = (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError)


class ChainMismatch(Exception):
    """The node's chain id is not the configured one."""

    def __init__(self, expected: int, actual: int) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"SETTLE_CHAIN__CHAIN_ID={expected} but the node reports chain id {actual}"
        )


class FailoverHTTPProvider(HTTPProvider):
    """JSON-RPC over several endpoints of one chain: each call goes to the current endpoint; on a
    connection error or timeout the next endpoint that is healthy (answers `eth_chainId` with the
    expected chain id within the timeout) becomes current and the call is repeated there, each
    endpoint at most once per call. A failover is logged. A node's answer, even an error, is
    never a reason to fail over: it is the chain's answer.

    Failback: while on a backup, the first (preferred) endpoint is health-checked at most every
    `failback_seconds` (by `clock`, monotonic seconds), by the call that finds the interval
    over; when it is healthy again it becomes current, and the move is logged."""

    def __init__(
        self,
        urls: Sequence[str],
        timeout_seconds: float,
        chain_id: int | None = None,
        observer: RpcObserver | None = None,
        failback_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not urls:
            raise ValueError("urls: at least one RPC endpoint is needed")
        if failback_seconds <= 0:
            raise ValueError(f"failback_seconds={failback_seconds}: must be positive")
        self.urls = tuple(urls)
        self.chain_id = chain_id
        self.observer = observer  # health checks (eth_chainId probes) are not reported
        self.failback_seconds = failback_seconds
        self.clock = clock
        self._left_preferred_at = clock()  # when the preferred endpoint was last found wanting
        self._failback = threading.Lock()  # one call re-checks; the others go on meanwhile
        # Inner providers fail at once (no retries of their own): the next endpoint is the retry.
        self._providers = {
            u: HTTPProvider(
                u, request_kwargs={"timeout": timeout_seconds}, exception_retry_configuration=None
            )
            for u in self.urls
        }
        self._switch = threading.Lock()
        super().__init__(self.urls[0], request_kwargs={"timeout": timeout_seconds})

    def connect(self) -> str:
        """Makes the first healthy endpoint current; raises ChainMismatch when an endpoint
        serves another chain (a misconfiguration) and RpcUnavailable when none answers."""
        reasons: dict[str, str] = {}
        for url in self.urls:
            answer = self._chain_id_at(url)
            if isinstance(answer, str):
                reasons[url] = answer
                log.warning("rpc endpoint unhealthy", extra={"endpoint": url, "reason": answer})
                continue
            if self.chain_id is not None and answer != self.chain_id:
                raise ChainMismatch(self.chain_id, answer)
            self.endpoint_uri = URI(url)
            self._left_preferred_at = self.clock()
            return url
        raise RpcUnavailable(",".join(self.urls), f"no endpoint is healthy: {reasons}")

    def unhealthy_reason(self, url: str) -> str | None:
        """None when `url` answers with the expected chain id within the timeout."""
        answer = self._chain_id_at(url)
        if isinstance(answer, str):
            return answer
        if self.chain_id is not None and answer != self.chain_id:
            return f"chain id {answer}, expected {self.chain_id}"
        return None

    def _chain_id_at(self, url: str) -> int | str:
        """The endpoint's chain id, or why it could not be had."""
        try:
            response = self._providers[url].make_request(RPCEndpoint("eth_chainId"), [])
        except _UNREACHABLE as error:
            return f"{type(error).__name__}: {error}"
        if "result" not in response:
            return f"eth_chainId answered {response.get('error')!r}"
        return int(str(response["result"]), 16)

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        return observed_call(self.observer, str(method), lambda: self._request(method, params))

    def _request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        self._fail_back_when_due()
        endpoint = str(self.endpoint_uri)
        tried: list[str] = []
        while True:
            try:
                return self._providers[endpoint].make_request(method, params)
            except _UNREACHABLE as error:
                self._attempt_failed(method, error)
                tried.append(endpoint)
                endpoint = self._fail_over(endpoint, tried, error)
            except Exception as error:
                self._attempt_failed(method, error)
                raise

    def _fail_back_when_due(self) -> None:
        """On a backup, past the interval: re-checks the preferred endpoint, moves back to it
        if it is healthy. A call that finds another re-checking goes on to the current one."""
        preferred = self.urls[0]
        if self.endpoint_uri == preferred:
            return
        if self.clock() - self._left_preferred_at < self.failback_seconds:
            return
        if not self._failback.acquire(blocking=False):
            return
        try:
            reason = self.unhealthy_reason(preferred)
            with self._switch:
                self._left_preferred_at = self.clock()
                if reason is not None or self.endpoint_uri == preferred:
                    return
                log.warning(
                    "rpc failback",
                    extra={"from_endpoint": str(self.endpoint_uri), "to_endpoint": preferred},
                )
                self.endpoint_uri = URI(preferred)
        finally:
            self._failback.release()

    def _attempt_failed(self, method: RPCEndpoint, error: BaseException) -> None:
        if self.observer is not None:
            self.observer.attempt_failed(str(method), error_kind(error))

    def is_connected(self, show_traceback: bool = False) -> bool:
        return any(self.unhealthy_reason(url) is None for url in self.urls)

    def _fail_over(self, failed: str, tried: list[str], error: BaseException) -> str:
        """The next healthy endpoint after `failed` not yet tried in this call; re-raises the
        error when there is none (the caller classifies it as RpcUnavailable, retryable)."""
        with self._switch:
            if self.endpoint_uri != failed and self.endpoint_uri not in tried:
                return str(self.endpoint_uri)  # another call already moved on
            start = self.urls.index(failed)
            for url in self.urls[start + 1 :] + self.urls[:start]:
                if url in tried:
                    continue
                reason = self.unhealthy_reason(url)
                if reason is None:
                    log.warning(
                        "rpc failover",
                        extra={"from_endpoint": failed, "to_endpoint": url, "error": repr(error)},
                    )
                    self.endpoint_uri = URI(url)
                    if failed == self.urls[0]:
                        self._left_preferred_at = self.clock()
                    return url
                tried.append(url)
                log.warning("rpc endpoint unhealthy", extra={"endpoint": url, "reason": reason})
        raise error
