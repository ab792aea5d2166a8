"""Two settlement-ledger nodes in one test: each its own database, key and claims endpoint."""

from __future__ import annotations

import random
from dataclasses import dataclass

from eth_account import Account
from web3 import Web3

from adapters.signing.key_set import KeySet
from adapters.signing.local_key import LocalKeySigner
from adapters.signing.signer import Signer
from application.clock import ManualClock
from bootstrap.node import Node, open_node
from bootstrap.service import ledger_projection
from bootstrap.settings import Settings
from bootstrap.settlement import SettlementProcess, build_settlement_process
from devtools.dev_chain import DevelopmentRails, fund_participant
from domain.money import Asset

TOKEN = "shared-test-token"
USD = Asset("USD", 6)
TOKEN_DECIMALS = 18


@dataclass
class TestNode:
    __test__ = False  # not a test class, a node under test

    name: str
    node: Node
    signer: Signer
    process: SettlementProcess
    claims_url: str

    def close(self) -> None:
        self.process.close()
        self.node.close()


def start_node(
    name: str,
    peer: str,
    database_url: str,
    web3: Web3,
    dev: DevelopmentRails,
    clock: ManualClock,
    *,
    funded: bool = True,
    rails: dict[str, object] | None = None,
    signer: Signer | None = None,
    keys: KeySet | None = None,
    settle_timeout_seconds: int = 20,
) -> TestNode:
    """A node signing with `signer` (a fresh local key if none: an HSM's may be given), or with
    a key set `keys` (new channels with its active key, older channels with their own key)."""
    signer = keys.active if keys else signer or LocalKeySigner(Account.create())
    if funded:
        fund_participant(web3, signer, dev.token, 10**30)
    settings = Settings.model_validate(
        {
            "database_url": database_url,
            "node_id": name,
            "claims": {"tokens": {peer: TOKEN}},
            "chain": {"confirmations": 0, "settle_timeout_seconds": settle_timeout_seconds},
            # Short waits, 3 attempts at faults, 5 minutes for a peer that asks us to wait.
            "settlement": {
                "initial_backoff_ms": 1,
                "max_backoff_ms": 10,
                "max_attempts": 3,
                "retry_for_seconds": 300,
            },
            "rails": rails or {},
        }
    )
    node = open_node(settings)
    process, url = _settlement_process(node, keys or signer, peer, web3, dev, clock)
    return TestNode(name, node, signer, process, url)


def restart_with_keys(
    started: TestNode,
    peer: str,
    keys: KeySet,
    web3: Web3,
    dev: DevelopmentRails,
    clock: ManualClock,
) -> TestNode:
    """The node's settlement process built again with `keys`, as `settle run` starts after a key
    rotation (the new active key funded); the claims endpoint is a new one."""
    started.process.close()
    fund_participant(web3, keys.active, dev.token, 10**30)
    process, url = _settlement_process(started.node, keys, peer, web3, dev, clock)
    return TestNode(started.name, started.node, keys.active, process, url)


def _settlement_process(
    node: Node,
    keys: Signer | KeySet,
    peer: str,
    web3: Web3,
    dev: DevelopmentRails,
    clock: ManualClock,
) -> tuple[SettlementProcess, str]:
    ledger = node.runner(ledger_projection(node))
    process = build_settlement_process(
        node, keys, dev.rails, lambda _config: web3, clock, random.Random(7), ledger_runner=ledger
    )
    return process, process.start_claims_server({peer: TOKEN})


def befriend(a: TestNode, b: TestNode, rails: list[str], threshold: int) -> None:
    """Each node opens an account for the other and registers its address and endpoint."""
    for me, other in ((a, b), (b, a)):
        me.node.app.open_peer_account(
            other.name, USD, threshold=threshold, settle_to=threshold // 5, credit_limit=10**15
        )
        me.node.app.register_peer(
            other.name, USD.code, other.signer.address, rails, rails[0], other.claims_url
        )


def ledger_agrees_with_read_model(node: Node) -> bool:
    """The double-entry ledger's balances equal the balances read model, to the unit."""
    from adapters.ledger.factory import build_chart, build_ledger
    from adapters.ledger.reconcile import compare_balances

    ledger = build_ledger(node.settings.ledger, node.database_url)
    try:
        node.runner(ledger_projection(node)).catch_up()
        node.catch_up_read_models()
        rows = node.read_side().all_balances()
        comparisons = compare_balances(ledger, build_chart(node.settings.ledger), rows)
    finally:
        ledger.close()
    return bool(comparisons) and all(c.matches for c in comparisons)
