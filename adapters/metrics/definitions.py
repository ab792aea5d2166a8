"""The node's Prometheus metrics, named by Prometheus conventions (`settle_` prefix, base units,
`_total` for counters), on one registry per node. Adapters that make calls (ledger, chain RPC,
claims, signing) count them here; everything derivable from events is counted by
`adapters.metrics.event_metrics`; gauges of state are read at scrape time
(`adapters.metrics.collectors`).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Settlement latencies run from milliseconds (off-chain) to minutes (a channel opened on chain).
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900)
# One JSON-RPC call: a local node answers in a millisecond, a remote provider in tens to hundreds,
# a timeout after seconds.
_RPC_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class NodeMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.packets = Counter(
            "settle_packets_recorded", "Packets recorded", ["asset", "direction"], registry=r
        )
        self.packet_amount = Counter(
            "settle_packet_amount_recorded",
            "Amount of recorded packets, in the asset's minor units",
            ["asset", "direction"],
            registry=r,
        )
        self.settlement_events = Counter(
            "settle_settlement_events",
            "Settlement events recorded, by event (Requested, Completed, DeadLettered, ...)",
            ["event"],
            registry=r,
        )
        self.settlement_failures = Counter(
            "settle_settlement_failures",
            "Failed settlement attempts by error class and whether they will be retried",
            ["error_class", "retryable"],
            registry=r,
        )
        self.settlement_latency = Histogram(
            "settle_settlement_duration_seconds",
            "Time from a settlement's request (threshold crossed) to its completion",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.settlement_step_latency = Histogram(
            "settle_settlement_step_duration_seconds",
            "Time from a settlement's previous event to this step",
            ["step"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.double_spends = Counter(
            "settle_suspected_double_spends",
            "Stale balance proofs from peers, recorded as suspected double spends",
            registry=r,
        )
        self.ledger_results = Counter(
            "settle_ledger_postings",
            "Ledger transfers posted, by the ledger's result code",
            ["result"],
            registry=r,
        )
        self.rpc_calls = Counter(
            "settle_chain_rpc_calls",
            "Chain JSON-RPC calls by rail, method and outcome (ok; rpc_error: the node answered"
            " with an error; error: no endpoint answered)",
            ["rail", "method", "outcome"],
            registry=r,
        )
        self.rpc_latency = Histogram(
            "settle_chain_rpc_call_duration_seconds",
            "Duration of chain JSON-RPC calls by rail and method, failover included",
            ["rail", "method"],
            buckets=_RPC_BUCKETS,
            registry=r,
        )
        self.rpc_errors = Counter(
            "settle_chain_rpc_errors",
            "Failed chain JSON-RPC endpoint attempts by rail, method and kind (connection,"
            " timeout, rpc_error, other); a failed-over call counts here and as an ok call",
            ["rail", "method", "kind"],
            registry=r,
        )
        self.claims = Counter(
            "settle_claims",
            "Claims sent to and received from peers, by outcome code",
            ["direction", "outcome"],
            registry=r,
        )
        self.claims_refused = Counter(
            "settle_claims_refused",
            "Claims from peers refused, by code; a paused peer's by what paused it (a fraud"
            " rule's name, double_spend, operator; none for other codes)",
            ["code", "pause_cause"],
            registry=r,
        )
        self.breaker_open = Gauge(
            "settle_rail_breaker_open", "1 while a rail's circuit breaker is open", ["rail"],
            registry=r,
        )
        self.rail_score = Gauge(
            "settle_rail_score", "A rail's last routing score (0 to 1)", ["rail"], registry=r
        )
        self.key_operations = Counter(
            "settle_key_operations", "Signatures made, by purpose", ["purpose"], registry=r
        )
        self.reconciliation_differences = Gauge(
            "settle_reconciliation_differences",
            "Differences found by the last reconciliation run, by check",
            ["check"],
            registry=r,
        )
        self.dependency_up = Gauge(
            "settle_dependency_up",
            "1 while a dependency (database, rail RPC, ledger, kafka) passes its health check",
            ["dependency"],
            registry=r,
        )
        self.fraud_findings = Counter(
            "settle_fraud_findings",
            "Fraud rule findings recorded on peer accounts, by rule and action (alert, pause)",
            ["rule", "action"],
            registry=r,
        )
        self.rate_limited = Counter(
            "settle_rate_limited_requests",
            "API requests refused by a rate limit, by kind and the limit reached",
            ["kind", "limit"],
            registry=r,
        )
        self.part_restarts = Counter(
            "settle_node_part_restarts", "Restarts of a node part after a failure", ["part"],
            registry=r,
        )
