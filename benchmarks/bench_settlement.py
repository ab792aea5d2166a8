"""Time from threshold crossed to settlement completed (p50/p99), with 10 and 100 peers settling
at once, off-chain (channels already open and funded) and with channel opening on Anvil.

Our node runs as `settle run` does: every follower in its own thread and the executor's worker
pool. The peers' side is one claims endpoint on 127.0.0.1 that checks each claim's EIP-712
signature before it acknowledges — the receiving node's bookkeeping is not what is timed. The
baseline, measured in the same run, is the floor of one settlement's side effects done directly:
sign a proof and deliver it over HTTP (off-chain); plus one token transaction on Anvil (on-chain).

    python -m benchmarks.bench_settlement [--peers 10,100] [--workers 8]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
import uuid
from typing import Any

from eth_account import Account

from adapters.claims.client import ClaimClient
from adapters.evm.balance_proof import BalanceProof, ProofDomain, sign, verify
from adapters.evm.chains import connect_rpc
from adapters.signing.local_key import LocalKeySigner
from application.claim_handling import ClaimOutcome
from application.claim_messages import Claim
from application.clock import system_clock
from benchmarks.common import benchmark_database
from bootstrap import service as node_service
from bootstrap.node import open_node
from bootstrap.settings import Settings
from devtools.anvil import AnvilProcess
from devtools.dev_chain import deploy_rails, fund_participant
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry
from entrypoints.http.claims_server import ClaimServer

TOKEN = "bench"
USD = Asset("USD", 6)
THRESHOLD, SETTLE_TO = 1_000_000, 100_000


class VerifyingEndpoint:
    """The peers' side: acknowledges a claim once its signature checks out."""

    def __init__(self, signer_address: str) -> None:
        self.signer_address = signer_address
        self.accepted = 0

    def handle(self, claim: Claim) -> ClaimOutcome:
        proof = BalanceProof(
            claim.channel.onchain_id, claim.proof.nonce, claim.proof.transferred_amount_int
        )
        domain = ProofDomain(claim.channel.chain_id, claim.channel.token_network)  # type: ignore[arg-type]
        verify(proof, domain, bytes.fromhex(claim.proof.signature[2:]), self.signer_address)
        self.accepted += 1
        return ClaimOutcome.credited(f"ok-{claim.claim_id}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_scenario(
    anvil_url: str, peers: int, workers: int, provision_first: bool
) -> tuple[list[float], dict[str, list[float]]]:
    web3 = connect_rpc(anvil_url, 10)
    dev = deploy_rails(web3, ["anvil-a"], rpc_url=anvil_url)
    ours = LocalKeySigner(Account.create())
    fund_participant(web3, ours, dev.token, 10**30)
    endpoint = VerifyingEndpoint(ours.address)
    server = ClaimServer(endpoint, {"node-a": TOKEN})
    server.start()
    names = [f"peer-{n:03d}" for n in range(peers)]
    os.environ["SETTLE_CHAIN_PRIVATE_KEY"] = "0x" + ours._account.key.hex()  # type: ignore[attr-defined]
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with benchmark_database(name) as url:
        settings = Settings(
            database_url=url,
            node_id="node-a",
            chain={
                "backend": "rpc",
                "rpc_url": anvil_url,
                "chain_id": web3.eth.chain_id,
                "confirmations": 0,
            },
            rails={"rails": [r.model_dump() for r in dev.rails]},
            claims={"tokens": {n: TOKEN for n in names}},
            settlement={
                "workers": workers,
                "provision_on_registration": provision_first,
                "queue_size": 1024,
            },
        )
        with open_node(settings) as node:
            for peer in names:
                node.app.open_peer_account(peer, USD, THRESHOLD, SETTLE_TO, 10**15)
                address = Account.create().address
                node.app.register_peer(peer, USD.code, address, ["anvil-a"], "anvil-a", server.url)
            service = node_service.build_service(node, system_clock)
            stop = threading.Event()
            runner = threading.Thread(target=node_service.run, args=(service, stop), daemon=True)
            runner.start()
            if provision_first:  # off-chain: every channel open and funded before the clock
                wait(lambda: opened_channels(url) >= peers, 600)
            crossed_at = time.time()
            for peer in names:
                node.app.record_packets(
                    peer,
                    USD.code,
                    "b1",
                    [PacketEntry(f"{peer}-p", Direction.OUTGOING, 3 * THRESHOLD)],
                )
            wait(lambda: completed(url) >= peers, 900)
            stop.set()
            runner.join(timeout=60)
            latencies, stages = crossing_to_completion(url)
    server.stop()
    assert endpoint.accepted >= peers and crossed_at
    return latencies, stages


def wait(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark scenario did not finish")
        time.sleep(0.1)


def _count(url: str, query: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0


def opened_channels(url: str) -> int:
    return _count(url, "SELECT count(*) FROM channels WHERE state = 'opened' AND our_deposit > 0")


def completed(url: str) -> int:
    return _count(
        url, "SELECT count(*) FROM settlementledger_events WHERE topic LIKE '%Settlement.Completed'"
    )


def crossing_to_completion(url: str) -> tuple[list[float], dict[str, list[float]]]:
    """Seconds from each account's threshold crossing to its settlement's completion, as the
    events themselves recorded them; and per stage, the seconds from the event before it (the
    crossing, or the settlement's previous event) to the stage's event, so the time spent in
    each step shows (a stage recorded in the same save as the previous one takes 0)."""
    import psycopg

    from application.app import SettlementApp
    from application.event_store import postgres_env

    app = SettlementApp(env=postgres_env(url))
    latencies = []
    stages: dict[str, list[float]] = {}
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT settlement_id, account_id FROM settlements").fetchall()
    for settlement_id, account_id in rows:
        crossing = next(
            e for e in app.history(account_id) if type(e).__name__ == "SettlementThresholdCrossed"
        )
        events = app.history(settlement_id)
        done = next(e for e in events if type(e).__name__ == "Completed")
        latencies.append((done.timestamp - crossing.timestamp).total_seconds())
        before = crossing.timestamp
        for event in events:
            name = type(event).__name__
            stages.setdefault(name, []).append((event.timestamp - before).total_seconds())
            before = event.timestamp
    app.close()
    return latencies, stages


def print_stages(stages: dict[str, list[float]]) -> None:
    """Per stage, the p50 of the time from the previous event to this one."""
    parts = [
        f"{name} {statistics.median(values) * 1000:.1f}"
        for name, values in stages.items()
        if values
    ]
    print("    stage p50 ms (from the event before): " + ", ".join(parts))


def baselines(anvil_url: str, rounds: int = 30) -> tuple[float, float]:
    """Median seconds of (sign + deliver over HTTP), and of one token transaction on Anvil."""
    web3 = connect_rpc(anvil_url, 10)
    dev = deploy_rails(web3, ["anvil-a"], rpc_url=anvil_url)
    ours = LocalKeySigner(Account.create())
    fund_participant(web3, ours, dev.token, 10**30)
    endpoint = VerifyingEndpoint(ours.address)
    domain = ProofDomain(web3.eth.chain_id, dev.rails[0].token_network)  # type: ignore[arg-type]
    deliveries = []
    with ClaimServer(endpoint, {"node-a": TOKEN}) as server:
        client = ClaimClient(server.url, TOKEN, 5)
        for nonce in range(1, rounds + 1):
            start = time.perf_counter()
            signature = sign(BalanceProof(1, nonce, nonce * 10**12), domain, ours)
            client.deliver(
                Claim.model_validate(
                    {
                        "claim_id": f"c{nonce}",
                        "sender_node": "node-a",
                        "sender_address": ours.address,
                        "asset_code": "USD",
                        "asset_scale": 6,
                        "amount": "1",
                        "channel": {
                            "chain_id": domain.chain_id,
                            "token_network": domain.token_network,
                            "onchain_id": 1,
                        },
                        "proof": {
                            "nonce": nonce,
                            "transferred_amount": str(nonce * 10**12),
                            "locks_root": "0x" + "00" * 32,
                            "signature": "0x" + signature.hex(),
                        },
                    }
                )
            )
            deliveries.append(time.perf_counter() - start)
    transactions = []
    for _ in range(10):
        start = time.perf_counter()
        fund_participant(web3, ours, dev.token, 1)
        transactions.append(time.perf_counter() - start)
    return statistics.median(deliveries), statistics.median(transactions)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peers", default="10,100")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument(
        "--modes", default="off-chain,with channel opening", help="comma-separated, of these two"
    )
    args = parser.parse_args()
    with AnvilProcess() as anvil:
        claim_floor, tx_floor = baselines(anvil.url)
        print(
            f"baseline: sign + deliver a claim {claim_floor * 1000:.1f} ms;"
            f" one token transaction on Anvil {tx_floor * 1000:.1f} ms"
        )
        print(
            f"{'mode':<22} {'peers':>5} {'p50 ms':>9} {'p99 ms':>9} {'p50/base':>9}"
            f" {'p99/base':>9} {'p99/(floor+1tx)':>16}"
        )
        modes = args.modes.split(",")
        results = {}
        for peers in (int(p) for p in args.peers.split(",")):
            for mode, provision in (("off-chain", True), ("with channel opening", False)):
                if mode not in modes:
                    continue
                latencies, stages = run_scenario(anvil.url, peers, args.workers, provision)
                p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
                base = claim_floor if provision else claim_floor + 3 * tx_floor
                results[f"{mode}/{peers}"] = {"p50_ms": p50 * 1000, "p99_ms": p99 * 1000}
                print(
                    f"{mode:<22} {peers:>5} {p50 * 1000:>9.1f} {p99 * 1000:>9.1f}"
                    f" {p50 / base:>9.1f} {p99 / base:>9.1f}"
                    f" {p99 / (claim_floor + tx_floor):>16.1f}"
                )
                print_stages(stages)
        print(json.dumps(results))


if __name__ == "__main__":
    main()
