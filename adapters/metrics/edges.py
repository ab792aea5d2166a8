"""Calls at the node's edges counted into its metrics: chain JSON-RPC calls of one rail (the
observer the EVM adapter's providers report to, adapters.evm.rpc_observed), and claims the
claims receiver refused (application.claim_refusals). Method names become a label, so a
name that is not a plain JSON-RPC method (`namespace_method`) is counted as `other`: the label's
values stay bounded whatever a caller sends.
"""

from __future__ import annotations

import re

from adapters.metrics.definitions import NodeMetrics
from application.claim_refusals import ClaimRefusal

_METHOD = re.compile(r"^[a-z][a-z0-9]{0,15}_[A-Za-z0-9]{1,48}$")


def method_label(method: str) -> str:
    return method if _METHOD.match(method) else "other"


class RailRpcMetrics:
    """Counts the calls of the rail (or rails sharing endpoints) named `rail`."""

    def __init__(self, metrics: NodeMetrics, rail: str) -> None:
        self._metrics = metrics
        self.rail = rail

    def call_ended(self, method: str, seconds: float, outcome: str) -> None:
        label = method_label(method)
        self._metrics.rpc_calls.labels(self.rail, label, outcome).inc()
        self._metrics.rpc_latency.labels(self.rail, label).observe(seconds)

    def attempt_failed(self, method: str, kind: str) -> None:
        self._metrics.rpc_errors.labels(self.rail, method_label(method), kind).inc()


def count_claim_refusal(metrics: NodeMetrics, refusal: ClaimRefusal) -> None:
    """The claims receiver's refusal observer: one refused claim counted."""
    metrics.claims_refused.labels(refusal.code, refusal.pause_cause or "none").inc()
