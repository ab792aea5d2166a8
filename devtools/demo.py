"""The demo: the whole flow on embedded defaults.

Our node and a handful of peer nodes — each a real settlement-ledger node with its own
database on the embedded PostgreSQL, its own key and its own claims endpoint on 127.0.0.1 —
on the in-process eth-tester chain with two token networks (rails). Peers are registered and
get channels opened with a deposit; packet batches stream on both sides; thresholds are
crossed; settlements are executed: claims signed, delivered, credited by the peer. At the end
it checks that the ledger, the read models, the peers' books and the chain agree.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg.conninfo
from eth_account import Account
from web3 import Web3

from adapters.evm.chains import start_eth_tester
from adapters.ledger.factory import build_chart, build_ledger
from adapters.ledger.reconcile import compare_balances
from adapters.postgres.embedded import ensure_database
from adapters.signing.local_key import LocalKeySigner
from application.processes.settlement_monitor import SettlementMonitor
from application.settings import ClaimsSettings
from bootstrap.node import Node, open_node
from bootstrap.replay import replay
from bootstrap.service import ledger_projection
from bootstrap.settings import Settings
from bootstrap.settlement import SettlementProcess, build_settlement_process
from devtools.dev_chain import DevelopmentRails, deploy_rails, fund_participant
from domain.address import Address
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry

PEERS = ["alice", "bob", "carol", "dave", "erin"]
ASSET = Asset("USD", 6)
RAILS = ["local-a", "local-b"]
THRESHOLD, SETTLE_TO = 2_000_000, 500_000


@dataclass
class PeerNode:
    name: str
    node: Node
    process: SettlementProcess
    signer: LocalKeySigner

    def close(self) -> None:
        self.process.close()
        self.node.close()


@dataclass
class DemoReport:
    packets: int = 0
    batches: int = 0
    crossings: int = 0
    checks: dict[str, bool] = field(default_factory=dict)


@dataclass
class Demo:
    node: Node
    run_id: str
    clock: Callable[[], datetime]
    say: Callable[[str], None] = print
    web3: Web3 | None = None
    dev: DevelopmentRails | None = None
    us: SettlementProcess | None = None
    peers: dict[str, PeerNode] = field(default_factory=dict)

    def start_network(self) -> None:
        """The chain, the contracts, our key and the peer nodes with their endpoints."""
        self.web3 = start_eth_tester()
        self.dev = deploy_rails(self.web3, RAILS, costs=[100, 120])
        self.say(f"in-process chain ready: token {self.dev.token}, rails {RAILS}")
        token = f"demo-{self.run_id}"
        our_key = LocalKeySigner(Account.create())
        fund_participant(self.web3, our_key, self.dev.token, 10**30)
        self.us = self._process(self.node, our_key)
        for name in PEERS:
            self.peers[name] = self._peer(name, token)
        self.say(f"{len(PEERS)} peer nodes listening for claims on 127.0.0.1")

    def _process(self, node: Node, signer: LocalKeySigner) -> SettlementProcess:
        assert self.web3 is not None and self.dev is not None
        web3 = self.web3
        return build_settlement_process(
            node,
            signer,
            self.dev.rails,
            lambda _rail: web3,
            self.clock,
            random.Random(11),
            ledger_runner=node.runner(ledger_projection(node)),
        )

    def _peer(self, name: str, token: str) -> PeerNode:
        admin = psycopg.conninfo.conninfo_to_dict(self.node.database_url)
        # Named after our database, so the peers' books live and go with ours.
        database = f"{admin['dbname']}_peer_{name}"
        ensure_database(
            psycopg.conninfo.make_conninfo("", **{**admin, "dbname": "postgres"}), database
        )
        url = psycopg.conninfo.make_conninfo("", **{**admin, "dbname": database})
        claims = ClaimsSettings.model_validate({"tokens": {self.node.settings.node_id: token}})
        settings = Settings(database_url=url, node_id=name, claims=claims)
        node = open_node(settings)
        signer = LocalKeySigner(Account.create())
        process = self._process(node, signer)
        process.start_claims_server({self.node.settings.node_id: token})
        return PeerNode(name, node, process, signer)

    def register_peers(self) -> None:
        """Both sides open an account for the other and register address, rails, endpoint."""
        assert self.us is not None
        tokens = {p: f"demo-{self.run_id}" for p in PEERS}
        self.us.delivery.tokens = tokens
        our_id = self.node.settings.node_id
        our_address = self.us.channels.rails[RAILS[0]].network.our_address
        for peer in self.peers.values():
            assert peer.process.server is not None
            self._befriend(self.node, peer.name, peer.signer.address, peer.process.server.url)
            self._befriend(peer.node, our_id, str(our_address), "http://127.0.0.1:9")
        provisioner = self.node.runner(self.us.provisioner)
        provisioner.catch_up()
        self.node.catch_up_read_models()
        opened = [c for c in self.node.read_side().all_channels() if c["state"] == "opened"]
        self.say(f"channels opened at registration: {len(opened)} (each with a deposit)")

    def _befriend(self, node: Node, peer: str, address: str, url: str) -> None:
        node.app.open_peer_account(peer, ASSET, THRESHOLD, SETTLE_TO, 10**15)
        node.app.register_peer(peer, ASSET.code, address, RAILS, RAILS[0], url)

    def stream(
        self, report: DemoReport, batches: int, batch_size: int, on_batch: Callable[[], None]
    ) -> None:
        rng = random.Random(7)
        our_id = self.node.settings.node_id
        for index in range(batches):
            for name, peer in self.peers.items():
                amounts = [rng.randint(1_000, 9_000) for _ in range(batch_size)]
                ids = [f"{self.run_id}-{name}-{index}-{n}" for n in range(batch_size)]
                batch_id = f"{self.run_id}-{name}-{index}"
                result = self.node.app.record_packets(
                    name,
                    ASSET.code,
                    batch_id,
                    [
                        PacketEntry(i, Direction.OUTGOING, a)
                        for i, a in zip(ids, amounts, strict=True)
                    ],
                )
                peer.node.app.record_packets(
                    our_id,
                    ASSET.code,
                    batch_id,
                    [
                        PacketEntry(i, Direction.INCOMING, a)
                        for i, a in zip(ids, amounts, strict=True)
                    ],
                )
                report.packets += batch_size
                report.batches += 1
                report.crossings += int(result.threshold_crossed)
                on_batch()

    def settle(self) -> None:
        assert self.us is not None
        monitor = self.node.runner(SettlementMonitor(self.node.app, self.clock))
        requested = -1
        for _ in range(20):  # a completed settlement can start the next for the same peer
            monitor.catch_up()
            self.us.executor.run_until_settled()
            self.node.catch_up_read_models()
            now = len(self.node.read_side().all_settlements())
            if now == requested:
                break
            requested = now

    def check(self) -> dict[str, bool]:
        """Ledger, read models, the peers' books and the chain agree."""
        assert self.us is not None
        checks: dict[str, bool] = {}
        ledger = build_ledger(self.node.settings.ledger, self.node.database_url)
        try:
            self.node.runner(ledger_projection(self.node)).catch_up()
            rows = self.node.read_side().all_balances()
            compared = compare_balances(ledger, build_chart(self.node.settings.ledger), rows)
            checks["ledger equals the balances read model"] = all(c.matches for c in compared)
        finally:
            ledger.close()
        checks["read models equal a replay of the events"] = replay(self.node).clean
        ours = {r["peer_id"]: r for r in rows}
        agree = True
        for name, peer in self.peers.items():
            peer.node.catch_up_read_models()
            [theirs] = peer.node.read_side().all_balances()
            agree &= int(theirs["receivable"]) == int(ours[name]["payable"]) + int(
                ours[name]["in_flight"]
            )
        checks["each peer's receivable equals what we owe it"] = agree
        checks["on-chain deposits equal the recorded ones"] = self._chain_agrees()
        return checks

    def _chain_agrees(self) -> bool:
        assert self.us is not None
        for row in self.node.read_side().all_channels():
            rail = next(
                (
                    r
                    for r in self.us.rails.values()
                    if Address(r.token_network) == Address(row["token_network"])
                ),
                None,
            )
            if rail is None or row["onchain_id"] is None:
                continue  # a channel of an earlier demo run, on a chain that is gone
            onchain = rail.network.participant(int(row["onchain_id"]), rail.network.our_address)
            if onchain.deposit != int(row["our_deposit"]):
                return False
        return True

    def close(self) -> None:
        for peer in self.peers.values():
            peer.close()
        if self.us is not None:
            self.us.close()


def settlement_rows(node: Node, since: Any = None) -> list[dict[str, Any]]:
    return node.read_side().all_settlements()
