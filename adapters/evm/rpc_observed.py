"""JSON-RPC calls observed at the provider, the edge where the node meets its chain: each call's
method, duration and outcome, and each endpoint attempt that failed by kind, reported to an
observer (the metrics adapter implements it; this module knows nothing of Prometheus).

Outcomes of a call: `ok`; `rpc_error` when the node answered with a JSON-RPC error (a revert,
a nonce too low: the chain's answer, not an outage); `error` when no endpoint answered.
Kinds of a failed attempt: `connection`, `timeout`, `rpc_error`, `other`. A call that failed
over and then succeeded is one `ok` call and one `connection` (or `timeout`) error.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

import requests
from web3 import HTTPProvider
from web3.types import RPCEndpoint, RPCResponse

OK = "ok"
RPC_ERROR = "rpc_error"
ERROR = "error"


class RpcObserver(Protocol):
    def call_ended(self, method: str, seconds: float, outcome: str) -> None:
        """One call, however many endpoints it tried."""

    def attempt_failed(self, method: str, kind: str) -> None:
        """One endpoint's attempt at a call that did not get the chain's success."""


def error_kind(error: BaseException) -> str:
    """What kind of failure an exception from an HTTP provider is."""
    if isinstance(error, (requests.Timeout, TimeoutError)):
        return "timeout"
    if isinstance(error, (requests.ConnectionError, ConnectionError)):
        return "connection"
    return "other"


def observed_call(
    observer: RpcObserver | None,
    method: str,
    call: Callable[[], RPCResponse],
) -> RPCResponse:
    """Runs `call` (one JSON-RPC request, any failover inside it) and reports it."""
    if observer is None:
        return call()
    started = time.monotonic()
    try:
        response = call()
    except BaseException:
        observer.call_ended(method, time.monotonic() - started, ERROR)
        raise
    outcome = RPC_ERROR if "error" in response else OK
    if outcome == RPC_ERROR:
        observer.attempt_failed(method, RPC_ERROR)
    observer.call_ended(method, time.monotonic() - started, outcome)
    return response


class ObservedHTTPProvider(HTTPProvider):
    """One endpoint, every call reported to the observer."""

    def __init__(self, url: str, timeout_seconds: float, observer: RpcObserver) -> None:
        super().__init__(url, request_kwargs={"timeout": timeout_seconds})
        self.observer = observer

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        return observed_call(self.observer, str(method), lambda: self._attempt(method, params))

    def _attempt(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        try:
            return super().make_request(method, params)
        except Exception as error:
            self.observer.attempt_failed(str(method), error_kind(error))
            raise
