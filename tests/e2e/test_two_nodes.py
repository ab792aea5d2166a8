"""Two settlement-ledger processes, A and B, each with its own PostgreSQL (embedded, under its
own data directory), settle through a channel on Anvil; they are set up and inspected through
the `settle` CLI as operators would. Both books, and both double-entry ledgers, agree to the
unit, and B closes the channel on chain with A's latest proof and receives what it was paid.
Both run their Kafka publisher on one broker (tansu), as docker-compose ships them: every
message each published fits the committed schemas (envelope, its event type's payload schema,
telemetry), and each published its whole history."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from eth_account import Account
from web3 import Web3

from adapters.evm.balance_proof import BalanceProof
from adapters.evm.chains import advance_time, connect_rpc
from adapters.evm.token import TokenClient
from adapters.evm.token_network import TokenNetworkClient
from adapters.evm.transactions import NonceManager, TransactionSender
from adapters.kafka.settings import KafkaSettings
from adapters.signing.local_key import LocalKeySigner
from devtools.anvil import free_port
from devtools.dev_chain import deploy_rails, fund_participant
from devtools.tansu import TansuBroker
from tests.e2e.conftest import run_settle
from tests.support.kafka_broker import read_topics, wait_for_metadata
from tests.support.kafka_schemas import validate_event_message, validate_telemetry_message
from tests.support.node_process import NodeProcess, node_environment, wait_until

TOKEN = "two-node-secret"
THRESHOLD, SETTLE_TO = 5_000_000, 1_000_000
UNIT = 10**12  # token base units (18 decimals) per ledger minor unit (USD at scale 6)


class Operator:
    """Runs `settle` against one node's environment."""

    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.name = name
        self.env = env

    def __call__(self, *args: str) -> Any:
        result = run_settle("--json", *args, env=self.env)
        assert result.returncode == 0, f"{self.name}: settle {' '.join(args)}\n{result.stderr}"
        return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[TansuBroker]:
    tansu = TansuBroker(tmp_path / "tansu")
    try:
        tansu.start()
        wait_for_metadata(tansu.bootstrap_server)
        yield tansu
    finally:
        tansu.stop()


@pytest.mark.slow(160)
def test_two_node_processes_settle_and_agree_to_the_unit(
    anvil_url: str, broker: TansuBroker, tmp_path: Path
) -> None:
    web3 = connect_rpc(anvil_url, 10)
    dev = deploy_rails(web3, ["anvil-a", "anvil-b"], rpc_url=anvil_url)
    keys = {name: LocalKeySigner(Account.create()) for name in ("node-a", "node-b")}
    for signer in keys.values():
        fund_participant(web3, signer, dev.token, 10**30)
    ports = {name: free_port() for name in keys}
    rails = json.dumps({"rails": [r.model_dump() for r in dev.rails]})

    def environment(name: str, peer: str) -> dict[str, str]:
        return node_environment(
            {
                "SETTLE_DATA_DIR": str(tmp_path / name),
                "SETTLE_NODE_ID": name,
                "SETTLE_CHAIN__BACKEND": "rpc",
                "SETTLE_CHAIN__RPC_URL": anvil_url,
                "SETTLE_CHAIN__CHAIN_ID": str(web3.eth.chain_id),
                "SETTLE_CHAIN__CONFIRMATIONS": "0",
                "SETTLE_CHAIN_PRIVATE_KEY": "0x" + keys[name]._account.key.hex(),  # type: ignore[attr-defined]
                "SETTLE_RAILS": rails,
                "SETTLE_CLAIMS__TOKENS": json.dumps({peer: TOKEN}),
                "SETTLE_CLAIMS__PORT": str(ports[name]),
                "SETTLE_KAFKA__ENABLED": "true",
                "SETTLE_KAFKA__BOOTSTRAP_SERVERS": broker.bootstrap_server,
                "SETTLE_KAFKA__TOPIC_PREFIX": name,
                "SETTLE_KAFKA__TELEMETRY_TOPIC": f"{name}.telemetry.v1",
            }
        )

    envs = {"node-a": environment("node-a", "node-b"), "node-b": environment("node-b", "node-a")}
    ops = {name: Operator(name, env) for name, env in envs.items()}
    for me, peer in (("node-a", "node-b"), ("node-b", "node-a")):
        ops[me](
            "peer",
            "open",
            peer,
            "--asset",
            "USD",
            "--scale",
            "6",
            "--threshold",
            str(THRESHOLD),
            "--settle-to",
            str(SETTLE_TO),
            "--credit-limit",
            str(10**15),
        )
        ops[me](
            "peer",
            "register",
            peer,
            "--asset",
            "USD",
            "--address",
            keys[peer].address,
            "--rails",
            "anvil-a,anvil-b",
            "--claims-url",
            f"http://127.0.0.1:{ports[peer]}",
        )

    nodes = {name: NodeProcess(env, tmp_path / f"{name}.log").start() for name, env in envs.items()}
    try:
        for node in nodes.values():
            wait_until(lambda n=node: "node running" in n.log_text(), 90, "start", node)
        for batch in range(3):  # the same packets seen from both sides
            amounts = [700_000 + 10_000 * i for i in range(5)]
            for me, peer, direction in (
                ("node-a", "node-b", "outgoing"),
                ("node-b", "node-a", "incoming"),
            ):
                postings = tmp_path / f"{me}-{batch}.json"
                postings.write_text(
                    json.dumps(
                        [
                            {"packet_id": f"pkt-{batch}-{i}", "direction": direction, "amount": amt}
                            for i, amt in enumerate(amounts)
                        ]
                    )
                )
                ops[me](
                    "packets",
                    "record",
                    peer,
                    "--asset",
                    "USD",
                    "--batch-id",
                    f"b{batch}",
                    "--file",
                    str(postings),
                )

        def settled() -> bool:
            # node-a's log says when each settlement it requested completed; only then is the
            # CLI asked (a `settle` process per poll would take the CPU the nodes need).
            if not logged_settlements_completed(nodes["node-a"]):
                return False
            rows = ops["node-a"]("settlements")
            return bool(rows) and all(r["status"] == "completed" for r in rows)

        wait_until(settled, 120, "node-a's settlements to complete", nodes["node-a"])
        settlements = ops["node-a"]("settlements")
        paid = sum(int(r["amount"]) for r in settlements)
        [a_view] = ops["node-a"]("balances")
        [b_view] = ops["node-b"]("balances")
        recorded = 3 * sum(700_000 + 10_000 * i for i in range(5))
        assert (a_view["payable"], a_view["in_flight"]) == (recorded - paid, 0)
        assert b_view["receivable"] == recorded - paid == a_view["payable"]
        for op in ops.values():  # each double-entry ledger equals its node's read model
            assert all(row["matches"] for row in op("ledger", "balances"))
        [a_channel] = [c for c in ops["node-a"]("channels") if c["state"] == "opened"]
        assert a_channel["state"] == "opened" and int(a_channel["our_transferred"]) == paid * UNIT
        decisions = [
            e
            for e in ops["node-a"]("history", str(settlements[0]["settlement_id"]))
            if e["event"] == "Settlement.RailChosen"
        ]
        assert decisions and decisions[0]["payload"]["decision"]["ranked"]
        b_channel_id, proof, signature = latest_partner_proof(ops["node-b"])
        [b_channel] = [c for c in ops["node-b"]("channels") if c["channel_id"] == b_channel_id]
        b_deposit = int(b_channel["our_deposit"])  # B's own deposit, if B opened it, comes back
        metrics = scrape_metrics(nodes["node-a"])
        completed = metrics.get('settle_settlement_events_total{event="Completed"}', 0.0)
        assert completed == len(settlements)  # counted from the events while the node ran
        assert metrics.get("settle_settlement_duration_seconds_count", 0.0) == len(settlements)
        assert metrics.get('settle_packets_recorded_total{asset="USD",direction="outgoing"}') == 15
        # Each of the 3 batches posted a transfer at least, by the node or (exists) before it.
        posted = [
            metrics.get(f'settle_ledger_postings_total{{result="{r}"}}', 0.0)
            for r in ("created", "exists")
        ]
        assert sum(posted) >= 3
        for name, op in ops.items():  # each node's publisher catches up with its history
            wait_until(lambda o=op: o("kafka", "status")["lag"] == 0, 60, "kafka", nodes[name])
        stored = {name: stored_positions(op, tmp_path / name) for name, op in ops.items()}
    finally:
        codes = {name: node.stop() for name, node in nodes.items()}
    assert codes == {"node-a": 0, "node-b": 0}
    assert not postgres_running_under(tmp_path)
    telemetry = {name: check_published_history(broker, name, stored[name]) for name in stored}
    assert telemetry["node-a"]["SETTLEMENT_COMPLETED"] == len(settlements)
    assert telemetry["node-b"]["ACCOUNTS_UPDATED"] >= 3 + len(settlements)  # batches + claims

    # B closes with A's latest proof, waits out the challenge period and collects.
    sender = TransactionSender(web3, keys["node-b"], NonceManager(), poll_interval_seconds=0.05)
    network_address = Web3.to_checksum_address(a_channel["token_network"])
    network = TokenNetworkClient(sender, network_address, confirmations=0)
    token = TokenClient(sender, dev.token)
    before = token.balance_of(keys["node-b"].address)
    network.execute(network.prepare_close(proof.channel_id, proof, signature))
    advance_time(web3, 24 * 3600)
    network.execute(network.prepare_settle(proof.channel_id))
    assert token.balance_of(keys["node-b"].address) - before == b_deposit + paid * UNIT
    assert b_channel_id


def stored_positions(operator: Operator, workdir: Path) -> dict[int, str]:
    """The positions of the node's stored events, from its audit export (a position whose
    insert was rolled back, e.g. by a conflicting writer, is never used: positions have gaps)."""
    head = int(operator("verify")["head_position"])
    export = workdir / "export.jsonl"
    args = ("export", "--from", "1", "--to", str(head), "--output", str(export))
    result = run_settle(*args, env=operator.env)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in export.read_text().splitlines()]
    # topic "domain.peer_account:PeerAccount.PacketsRecorded" -> aggregate type "PeerAccount"
    return {
        int(r["position"]): r["topic"].split(":")[1].split(".")[0]
        for r in records
        if r["kind"] == "event"
    }


def check_published_history(broker: TansuBroker, node: str, stored: dict[int, str]) -> Counter[str]:
    """Every event the node stored was published (once at least; none that it did not store),
    and every message fits the committed schemas; the count of each telemetry type published."""
    kafka = KafkaSettings(
        bootstrap_servers=broker.bootstrap_server,
        topic_prefix=node,
        telemetry_topic=f"{node}.telemetry.v1",
    )
    topics = sorted({kafka.topic_for(kind) for kind in stored.values()})
    values = [json.loads(m.value) for m in read_topics(kafka, topics, expected=len(stored))]
    for value in values:
        validate_event_message(value)
    assert {v["position"] for v in values if v["position"] <= max(stored)} == set(stored), node
    telemetry = [json.loads(m.value) for m in read_topics(kafka, [kafka.telemetry_topic], 1)]
    for message in telemetry:
        validate_telemetry_message(message)
    return Counter(t["type"] for t in telemetry)


def logged_settlements_completed(node: NodeProcess) -> bool:
    """The node logged a completed settlement, and one for every settlement it logged requesting."""
    records = node.log_records()
    ids = {
        event: {r.get("settlement_id") for r in records if r.get("event") == event}
        for event in ("settlement requested", "settlement completed")
    }
    return (
        bool(ids["settlement completed"])
        and ids["settlement requested"] <= ids["settlement completed"]
    )


def scrape_metrics(node: NodeProcess) -> dict[str, float]:
    """The node's /metrics, sample by sample; its API URL is in its log."""
    [url] = re.findall(r'"event": "http api listening"[^\n]*"url": "([^"]+)"', node.log_text())
    text = httpx.get(f"{url}/metrics", timeout=30).text
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def latest_partner_proof(operator: Operator) -> tuple[str, BalanceProof, bytes]:
    [channel] = [c for c in operator("channels") if c["state"] == "opened"]
    events = operator("history", str(channel["channel_id"]))
    accepted = [e["payload"] for e in events if e["event"] == "Channel.PartnerBalanceProofAccepted"]
    latest = accepted[-1]
    proof = BalanceProof(int(channel["onchain_id"]), latest["nonce"], latest["transferred_amount"])
    return channel["channel_id"], proof, bytes.fromhex(latest["signature"].removeprefix("0x"))


def postgres_running_under(path: Path) -> bool:
    for proc in psutil.process_iter(attrs=["name", "cmdline"]):
        if proc.info["name"] == "postgres" and str(path) in " ".join(proc.info["cmdline"] or []):
            return True
    return False
