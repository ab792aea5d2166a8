"""RFC 0038 latency: from the connector's settle request on one engine to the peer's connector
credited, p50/p99 over N settlements, beside a same-run floor (sign a proof and deliver it).

Two nodes (each its own embedded PostgreSQL, one Anvil chain, a channel from A to B opened and
deposited before the clock) serve the engine API; a scripted connector per node answers the
engine's calls. One settlement is timed from `POST /accounts/node-b/settlements` on A's API
(HTTP, with an Idempotency-Key) to B's connector having answered `POST
/accounts/node-a/settlements` and B having recorded the acknowledgement. In between: A's
executor chooses the rail, signs the balance proof and delivers the claim to B's claims route
(which verifies and credits it), applies and completes; B's notices follower records the
obligation and B's notifier tells the connector. Each stage runs as soon as the previous one
returned (driven in this thread), so the figure is the work on the path, without the polling
intervals of `settle run` (executor scan 0.2 s, notifier 1 s) that a deployment adds on top.

The floor, measured in the same run, is the least a settlement can cost off-chain: sign an
EIP-712 balance proof and deliver it over HTTP to an endpoint that checks the signature.

    python -m benchmarks.rfc0038_latency [--settlements 200]
"""

from __future__ import annotations

import argparse
import json
import random
import time
import uuid
from typing import Any

import httpx
from eth_account import Account

from adapters.claims.client import ClaimClient
from adapters.connector.client import ConnectorClient
from adapters.evm.balance_proof import BalanceProof, ProofDomain, sign
from adapters.evm.chains import connect_rpc
from adapters.postgres.idempotency import PostgresIdempotencyStore
from adapters.signing.local_key import LocalKeySigner
from application.claim_messages import Claim
from application.clock import ManualClock
from application.engine_messages import SettlementInfoMessages
from application.engine_service import EngineTerms, SettlementEngine
from benchmarks.bench_settlement import VerifyingEndpoint, percentile
from benchmarks.common import benchmark_database
from bootstrap.http import HttpServer
from devtools.anvil import AnvilProcess
from devtools.dev_chain import deploy_rails, fund_participant
from domain.peer_account import Direction, PacketEntry
from entrypoints.http.api.app import create_app
from entrypoints.http.api.auth import token_sha256
from entrypoints.http.api.settings import ApiClientSettings, ApiSettings, Scope
from entrypoints.http.claims_server import ClaimServer
from projections.connector_notices import ConnectorNotices, ConnectorNotifier
from tests.integration.rfc0038.scripted_connector import ScriptedConnector
from tests.support.two_nodes import USD, TestNode, start_node

CONNECTOR_TOKEN = "bench-connector"
THRESHOLD = 5_000_000
AMOUNT = 1_000  # minor units per settlement (0.001 USD)
WARM_UP = 3


def engine_api(node: TestNode, clock: ManualClock) -> HttpServer:
    """The node's service API with its settlement engine, as `settle run` serves it."""
    engine = SettlementEngine(
        node.node.app,
        PostgresIdempotencyStore(node.node.pool),
        EngineTerms(USD, THRESHOLD, 10**15),
        clock,
        SettlementInfoMessages({"address": node.signer.address}),
    )
    scopes = frozenset({Scope.CONNECTOR})
    clients = {
        "connector": ApiClientSettings(token_sha256=token_sha256(CONNECTOR_TOKEN), scopes=scopes)
    }
    asgi = create_app(
        node.node.app, node.node.read_side(), ApiSettings(clients=clients), clock, engine=engine
    )
    return HttpServer(asgi)


Stages = tuple[float, float, float]
"""Seconds from the settle request to: its answer, A's settlement completed, B's connector
credited."""


def engine_path(anvil_url: str, settlements: int) -> list[Stages]:
    """The stages of each settlement, from settle request on A to B's connector credited."""
    web3 = connect_rpc(anvil_url, 10)
    dev = deploy_rails(web3, ["rfc-a"], rpc_url=anvil_url)
    clock = ManualClock()
    tag = uuid.uuid4().hex[:8]
    with (
        benchmark_database(f"rfc_a_{tag}") as url_a,
        benchmark_database(f"rfc_b_{tag}") as url_b,
        ScriptedConnector() as connector_a,
        ScriptedConnector(
            [(201, json.dumps({"amount": str(AMOUNT), "scale": 6}).encode())]
        ) as connector_b,
    ):
        a = start_node("node-a", "node-b", url_a, web3, dev, clock)
        b = start_node("node-b", "node-a", url_b, web3, dev, clock)
        servers = [engine_api(a, clock).start(), engine_api(b, clock).start()]
        try:
            return _timed_settlements(a, b, servers, connector_b, clock, settlements)
        finally:
            for server in servers:
                server.stop()
            a.close()
            b.close()
            assert connector_a.calls == []  # A's connector is never told of A's own payments


def _timed_settlements(
    a: TestNode,
    b: TestNode,
    servers: list[HttpServer],
    connector_b: ScriptedConnector,
    clock: ManualClock,
    settlements: int,
) -> list[Stages]:
    auth = {"Authorization": f"Bearer {CONNECTOR_TOKEN}"}
    api_a = httpx.Client(base_url=servers[0].url, headers=auth, timeout=30.0)
    api_b = httpx.Client(base_url=servers[1].url, headers=auth, timeout=30.0)
    for me, other, api in ((a, b, api_a), (b, a, api_b)):
        assert api.post("/accounts", json={"id": other.name}).status_code == 201
        me.node.app.register_peer(
            other.name, USD.code, other.signer.address, ["rfc-a"], "rfc-a", other.claims_url
        )
    a.node.runner(a.process.provisioner).catch_up()  # the channel A -> B, deposited
    total = (settlements + WARM_UP) * AMOUNT
    b.node.app.record_packets(
        "node-a", USD.code, "packets", [PacketEntry("p", Direction.INCOMING, total)]
    )
    notices = b.node.runner(ConnectorNotices(b.node.app, clock))
    notifier = ConnectorNotifier(
        b.node.app, b.node.pool, ConnectorClient(connector_b.url), clock, random.Random(1)
    )
    body = json.dumps({"amount": str(AMOUNT), "scale": 6})
    headers = {"Content-Type": "application/json"}
    latencies: list[Stages] = []
    try:
        for n in range(settlements + WARM_UP):
            start = time.perf_counter()
            response = api_a.post(
                "/accounts/node-b/settlements",
                content=body,
                headers={**headers, "Idempotency-Key": f"bench-{n}"},
            )
            assert response.status_code == 201, response.text
            answered = time.perf_counter() - start
            a.process.executor.run_until_settled()
            paid = time.perf_counter() - start
            credited = 0
            for _ in range(5):  # the credit, the obligation it records, then the notice
                notices.catch_up()
                credited = notifier.send_due()
                if credited:
                    break
            assert credited == 1, f"settlement {n} was not credited by B's connector"
            if n >= WARM_UP:
                latencies.append((answered, paid, time.perf_counter() - start))
    finally:
        api_a.close()
        api_b.close()
    assert len(connector_b.calls) == settlements + WARM_UP
    return latencies


def sign_and_deliver_floor(anvil_url: str, rounds: int) -> list[float]:
    """Seconds to sign a balance proof and deliver its claim over HTTP, per round."""
    web3 = connect_rpc(anvil_url, 10)
    dev = deploy_rails(web3, ["floor"], rpc_url=anvil_url)
    ours = LocalKeySigner(Account.create())
    fund_participant(web3, ours, dev.token, 10**30)
    domain = ProofDomain(web3.eth.chain_id, dev.rails[0].token_network)  # type: ignore[arg-type]
    times = []
    with ClaimServer(VerifyingEndpoint(ours.address), {"node-a": "floor"}) as server:
        client = ClaimClient(server.url, "floor", 5)
        for nonce in range(1, rounds + 1):
            start = time.perf_counter()
            signature = sign(BalanceProof(1, nonce, nonce * AMOUNT), domain, ours)
            client.deliver(Claim.model_validate(_claim(domain, ours.address, nonce, signature)))
            times.append(time.perf_counter() - start)
    return times


def _claim(domain: ProofDomain, sender: str, nonce: int, signature: bytes) -> dict[str, Any]:
    return {
        "claim_id": f"floor-{nonce}",
        "sender_node": "node-a",
        "sender_address": sender,
        "asset_code": USD.code,
        "asset_scale": USD.scale,
        "amount": str(AMOUNT),
        "channel": {
            "chain_id": domain.chain_id,
            "token_network": domain.token_network,
            "onchain_id": 1,
        },
        "proof": {
            "nonce": nonce,
            "transferred_amount": str(nonce * AMOUNT),
            "locks_root": "0x" + "00" * 32,
            "signature": "0x" + signature.hex(),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--settlements", type=int, default=200)
    args = parser.parse_args()
    if args.settlements < 1:
        parser.error("--settlements: must be at least 1")
    with AnvilProcess() as anvil:
        floor = sign_and_deliver_floor(anvil.url, args.settlements)
        stages = engine_path(anvil.url, args.settlements)
    path = [s[2] for s in stages]
    tenth = max(1, len(path) // 10)
    rows = {
        "sign + deliver (floor)": floor,
        "settle request -> peer credited": path,
        "  of which: request answered": [s[0] for s in stages],
        "  of which: A paid (executor)": [s[1] - s[0] for s in stages],
        "  of which: B told its connector": [s[2] - s[1] for s in stages],
        "  first 10% of settlements": path[:tenth],
        "  last 10% of settlements": path[-tenth:],
    }
    print(f"{args.settlements} settlements of {AMOUNT} minor units, one at a time")
    print(f"{'path':<34} {'p50 ms':>9} {'p99 ms':>9} {'p50/floor':>10}")
    floor_p50 = percentile(floor, 0.5)
    results = {}
    for name, values in rows.items():
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        results[name.strip()] = {"p50_ms": round(p50 * 1000, 2), "p99_ms": round(p99 * 1000, 2)}
        print(f"{name:<34} {p50 * 1000:>9.1f} {p99 * 1000:>9.1f} {p50 / floor_p50:>10.1f}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
