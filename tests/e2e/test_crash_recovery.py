"""SIGKILL the node at each step boundary of a settlement's lifecycle, restart it, and check
that nothing was lost and nothing paid twice.

The payer runs `settle run` as a subprocess with a failpoint armed: it kills itself with
SIGKILL the first time it passes that point. It is then restarted without one and must
finish the settlement. The payee is a node in this test process; the chain is Anvil.
"""

from __future__ import annotations

import json
import random
import signal
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import psycopg
import pytest
from eth_account import Account
from web3 import Web3

from adapters.evm.chains import connect_rpc
from adapters.signing.local_key import LocalKeySigner
from application.app import SettlementApp
from application.clock import system_clock
from application.event_store import postgres_env
from bootstrap.node import open_node
from bootstrap.replay import replay
from bootstrap.settings import Settings
from bootstrap.settlement import build_settlement_process
from devtools.dev_chain import deploy_rails, fund_participant
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry
from tests.support.node_process import NodeProcess, node_environment, wait_until

USD = Asset("USD", 6)
TOKEN = "crash-test-token"
THRESHOLD = 5_000_000
KILL_POINTS = [
    "after_reserve",
    "after_signed_open",
    "after_broadcast_open",
    "after_signed_approve",
    "after_broadcast_deposit",
    "after_channel_ready",
    "after_sign",
    "after_deliver",
    "after_applied",
    "after_complete",
]


def completed(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM settlementledger_events WHERE topic LIKE %s",
            ("%Settlement.Completed",),
        ).fetchone()
    return int(row[0]) if row else 0


@pytest.fixture
def payee(anvil_url: str, database_url_b: str) -> Iterator[dict]:  # type: ignore[type-arg]
    web3 = connect_rpc(anvil_url, 10)
    dev = deploy_rails(web3, ["anvil-a"], rpc_url=anvil_url)
    signer = LocalKeySigner(Account.create())
    fund_participant(web3, signer, dev.token, 0 + 1)
    settings = Settings(
        database_url=database_url_b,
        node_id="node-b",
        claims={"tokens": {"node-a": TOKEN}},
        chain={"confirmations": 0},
    )
    node = open_node(settings)
    process = build_settlement_process(
        node, signer, dev.rails, lambda _c: web3, system_clock, random.Random(3)
    )
    url = process.start_claims_server({"node-a": TOKEN})
    try:
        yield {
            "web3": web3,
            "dev": dev,
            "node": node,
            "process": process,
            "url": url,
            "signer": signer,
        }
    finally:
        process.close()
        node.close()


@pytest.mark.slow(20)
@pytest.mark.parametrize("kill_point", KILL_POINTS)
def test_settlement_completes_once_after_sigkill_at(
    kill_point: str,
    payee: dict,
    database_url: str,
    anvil_url: str,
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    web3: Web3 = payee["web3"]
    dev = payee["dev"]
    payer = LocalKeySigner(Account.create())
    fund_participant(web3, payer, dev.token, 10**30)
    seed(database_url, payee, payer.address)
    sent_before = web3.eth.get_transaction_count(payer.address)
    env = node_environment(
        {
            "DATABASE_URL": database_url,
            "SETTLE_NODE_ID": "node-a",
            "SETTLE_CHAIN__BACKEND": "rpc",
            "SETTLE_CHAIN__RPC_URL": anvil_url,
            "SETTLE_CHAIN__CHAIN_ID": str(web3.eth.chain_id),
            "SETTLE_CHAIN__CONFIRMATIONS": "0",
            "SETTLE_CHAIN_PRIVATE_KEY": "0x" + payer._account.key.hex(),  # type: ignore[attr-defined]
            "SETTLE_RAILS": json.dumps({"rails": [r.model_dump() for r in dev.rails]}),
            "SETTLE_CLAIMS__TOKENS": json.dumps({"node-b": TOKEN}),
            "SETTLE_SETTLEMENT__PROVISION_ON_REGISTRATION": "false",
            "SETTLE_SETTLEMENT__INITIAL_BACKOFF_MS": "20",
        }
    )
    first = NodeProcess({**env, "SETTLE_FAILPOINTS": kill_point}, tmp_path / "first.log").start()
    code = first.wait(timeout=120)
    assert code == -signal.SIGKILL, f"not killed at {kill_point}:\n{first.log_text()[-3000:]}"

    second = NodeProcess(env, tmp_path / "second.log").start()
    try:
        wait_until(lambda: "node running" in second.log_text(), 60, "the node to start", second)
        wait_until(lambda: completed(database_url) >= 1, 120, "the settlement to complete", second)
    finally:
        assert second.stop() == 0, second.log_text()[-3000:]
    check_exactly_once(database_url, payee, web3, payer.address, sent_before)


def seed(database_url: str, payee: dict, payer_address: str) -> None:  # type: ignore[type-arg]
    packets = [PacketEntry(f"p{i}", Direction.OUTGOING, 1_500_000) for i in range(4)]
    with open_node(Settings(database_url=database_url)) as node:
        node.app.open_peer_account("node-b", USD, THRESHOLD, 1_000_000, 10**15)
        node.app.register_peer(
            "node-b", USD.code, payee["signer"].address, ["anvil-a"], "anvil-a", payee["url"]
        )
        node.app.record_packets("node-b", USD.code, "batch-1", packets)
    b = payee["node"].app
    b.open_peer_account("node-a", USD, THRESHOLD, 1_000_000, 10**15)
    b.register_peer("node-a", USD.code, payer_address, ["anvil-a"], "anvil-a", "http://127.0.0.1:9")
    b.record_packets(
        "node-a",
        USD.code,
        "batch-1",
        [PacketEntry(e.packet_id, Direction.INCOMING, e.amount) for e in packets],
    )


def check_exactly_once(
    database_url: str,
    payee: dict,
    web3: Web3,
    payer: str,
    sent_before: int,  # type: ignore[type-arg]
) -> None:
    app = SettlementApp(env=postgres_env(database_url))
    try:
        account = app.peer_account("node-b", USD.code)
        history = [type(e).__name__ for e in app.history(account.id)]
        assert history.count("SettlementReserved") == 1 and history.count("SettlementApplied") == 1
        assert (account.payable, account.in_flight) == (1_000_000, 0)
        assert account.settlements == {}  # none open: the account keeps no finished one
        [reserved] = [
            e for e in app.history(account.id) if type(e).__name__ == "SettlementReserved"
        ]
        settlement_hex = reserved.settlement_id.hex
        assert reserved.amount == 5_000_000
        settlement_events = [type(e).__name__ for e in app.history(UUID(settlement_hex))]
        assert settlement_events.count("Completed") == 1
        assert settlement_events.count("ProofSigned") == 1
        channel_id = app.settlement(UUID(settlement_hex)).channel_id
        assert channel_id is not None
        recorded = [tx.as_recorded() for tx in app.recorded_transactions(channel_id)]
        assert all(tx["confirmed"] and tx["succeeded"] for tx in recorded)
        # Every transaction the payer's key ever sent is one it recorded: none built twice.
        sent = web3.eth.get_transaction_count(Web3.to_checksum_address(payer)) - sent_before
        assert sent == len(recorded)
        assert sorted(tx["purpose"].split(":")[0] for tx in recorded) == [
            "approve",
            "deposit",
            "open",
        ]
    finally:
        app.close()
    b = payee["node"]
    b_account = b.app.peer_account("node-a", USD.code)
    credited = b.app.credited_claims(b_account.id)
    assert list(credited.values()) == [5_000_000]  # one claim, credited once
    assert b_account.receivable == account.payable
    with open_node(Settings(database_url=database_url)) as node:
        assert replay(node).clean
    assert replay(b).clean
