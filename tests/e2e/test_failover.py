"""Two `settle run` instances on one database, the leader SIGKILLed again and again.

The paying node runs as two instances, A and A', on ONE database; only the one holding the
advisory lock (the leader) runs the settlement executor. Packets keep settlements due. Each
instance starts with one failpoint armed (a different one each start, so no two leaders in a
row die at the same step), so the leader kills itself mid-settlement; every few takeovers the
test itself SIGKILLs the new leader as soon as it has seen the epoch rise. The killed instance
is restarted as the new standby once the other has taken over. After enough kills the
instances run unarmed until every settlement completes; then nothing was paid twice or lost.
"""

from __future__ import annotations

import json
import random
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eth_account import Account
from web3 import Web3

from adapters.evm.chains import connect_rpc
from adapters.evm.token_network import TokenNetworkClient
from adapters.evm.transactions import NonceManager, TransactionSender
from adapters.signing.local_key import LocalKeySigner
from application.app import SettlementApp
from application.clock import system_clock
from application.event_store import postgres_env
from bootstrap.node import open_node
from bootstrap.settings import Settings
from bootstrap.settlement import build_settlement_process
from devtools.dev_chain import deploy_rails, fund_participant
from domain.channel import Channel
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry
from tests.support.node_process import NodeProcess, leadership_epoch, node_environment, wait_until

USD = Asset("USD", 6)
TOKEN = "failover-test-token"
THRESHOLD, SETTLE_TO = 3_000_000, 1_000_000
UNIT = 10**12  # token base units (18 decimals) per minor unit of USD (scale 6)
MIN_KILLS = 20
KILL_BY_TEST_EVERY = 4  # every 4th takeover, the test kills the new leader itself
# Points every settlement passes; a start is armed with one, in turn.
KILL_POINTS = [
    "after_reserve",
    "after_channel_ready",
    "after_sign",
    "after_deliver",
    "after_applied",
    "after_complete",
]


@dataclass
class Instance:
    """One of the two `settle run` instances of the paying node, restarted under one name."""

    name: str
    env: dict[str, str]
    logs: Path
    starts: int = 0
    current: NodeProcess | None = None
    past: list[NodeProcess] = field(default_factory=list)

    def start(self, failpoint: str | None) -> NodeProcess:
        if self.current is not None:
            self.past.append(self.current)
        env = {**self.env, "SETTLE_FAILPOINTS": failpoint} if failpoint else self.env
        self.starts += 1
        log = self.logs / f"{self.name}-{self.starts}.log"
        self.current = NodeProcess(env, log).start()
        return self.current

    def every_process(self) -> list[NodeProcess]:
        return [*self.past, *([self.current] if self.current else [])]


@pytest.fixture
def payee(anvil_url: str, database_url_b: str) -> Iterator[dict[str, Any]]:
    web3 = connect_rpc(anvil_url, 10)
    dev = deploy_rails(web3, ["anvil-a"], rpc_url=anvil_url)
    signer = LocalKeySigner(Account.create())
    fund_participant(web3, signer, dev.token, 1)
    settings = Settings.model_validate(
        {
            "database_url": database_url_b,
            "node_id": "node-b",
            "claims": {"tokens": {"node-a": TOKEN}},
            "chain": {"confirmations": 0},
        }
    )
    node = open_node(settings)
    process = build_settlement_process(
        node, signer, dev.rails, lambda _c: web3, system_clock, random.Random(5)
    )
    url = process.start_claims_server({"node-a": TOKEN})
    try:
        yield {"web3": web3, "dev": dev, "node": node, "url": url, "signer": signer}
    finally:
        process.close()
        node.close()


@pytest.mark.slow(160)
def test_settlements_complete_exactly_once_while_leaders_are_killed(
    payee: dict[str, Any], database_url: str, anvil_url: str, tmp_path: Path
) -> None:
    web3: Web3 = payee["web3"]
    payer = LocalKeySigner(Account.create())
    fund_participant(web3, payer, payee["dev"].token, 10**30)
    open_accounts(database_url, payee, payer.address)
    env = node_environment(
        {
            "DATABASE_URL": database_url,
            "SETTLE_NODE_ID": "node-a",
            "SETTLE_CHAIN__BACKEND": "rpc",
            "SETTLE_CHAIN__RPC_URL": anvil_url,
            "SETTLE_CHAIN__CHAIN_ID": str(web3.eth.chain_id),
            "SETTLE_CHAIN__CONFIRMATIONS": "0",
            "SETTLE_CHAIN_PRIVATE_KEY": "0x" + payer._account.key.hex(),
            "SETTLE_RAILS": json.dumps({"rails": [r.model_dump() for r in payee["dev"].rails]}),
            "SETTLE_CLAIMS__TOKENS": json.dumps({"node-b": TOKEN}),
            "SETTLE_SETTLEMENT__PROVISION_ON_REGISTRATION": "false",
            "SETTLE_SETTLEMENT__INITIAL_BACKOFF_MS": "20",
        }
    )
    instances = [Instance("a", env, tmp_path), Instance("a-prime", env, tmp_path)]
    kills, starts, batches = 0, 0, 0
    settled = Settled(database_url)

    def next_point() -> str | None:
        nonlocal starts
        starts += 1
        return KILL_POINTS[starts % len(KILL_POINTS)] if kills < MIN_KILLS else None

    first = instances[0].start(next_point())
    wait_until(lambda: first.acquired_epochs() != [], 90, "instance a to lead", first)
    instances[1].start(next_point())
    try:
        while kills < MIN_KILLS or not settled.all_done():
            if kills < MIN_KILLS and settled.all_done():
                settled.floor = _count(database_url, "Settlement.Requested")
                batches += 1
                record_batch(database_url, payee, batches)
            dead = wait_for_a_death(instances, settled)
            if dead is None:
                continue
            killed = dead.current
            assert killed is not None and killed.returncode == -signal.SIGKILL, (
                f"{dead.name} ended with {killed.returncode if killed else None}, not SIGKILL:\n"
                + (killed.log_text()[-3000:] if killed else "")
            )
            kills += 1
            survivor = next(i for i in instances if i is not dead)
            assert survivor.current is not None
            # The survivor takes over (a newer epoch than the dead leader's) before the dead
            # one comes back, as the new standby.
            held = max(killed.acquired_epochs(), default=0)
            wait_until(
                partial(epoch_above, database_url, held),
                60,
                "the standby to take over",
                survivor.current if survivor.current.returncode is None else None,
            )
            standby = dead.start(next_point())
            leader = survivor.current
            if kills % KILL_BY_TEST_EVERY == 0 and kills < MIN_KILLS and leader.returncode is None:
                # Kill the new leader on its observed first act: the epoch it took.
                epoch = leadership_epoch(database_url)
                wait_until(partial(running, standby), 90, "the standby to start", standby)
                if epoch in leader.acquired_epochs() and leader.returncode is None:
                    leader.kill()
        assert all(i.current is not None and i.current.returncode is None for i in instances), (
            "both instances run at the end"
        )
    finally:
        for instance in instances:
            if instance.current is not None and instance.current.returncode is None:
                instance.current.stop()
    processes = [p for i in instances for p in i.every_process()]
    check_epochs(processes, database_url, kills)
    check_books(database_url, payee, payer.address, batches)


@dataclass
class Settled:
    """Whether the settlements the last batch made due have all completed."""

    database_url: str
    floor: int = -1  # settlements requested before the last batch

    def all_done(self) -> bool:
        requested = _count(self.database_url, "Settlement.Requested")
        return requested > self.floor and _count(self.database_url, ".Completed") == requested


def wait_for_a_death(instances: list[Instance], settled: Settled) -> Instance | None:
    """Waits up to 60 s for an instance to end; None when the settlements all completed."""
    found: list[Instance] = []

    def someone_died_or_done() -> bool:
        found[:] = [i for i in instances if i.current and i.current.returncode is not None]
        return bool(found) or settled.all_done()

    wait_until(someone_died_or_done, 120, "a leader to die at its failpoint or progress")
    return found[0] if found else None


def open_accounts(database_url: str, payee: dict[str, Any], payer_address: str) -> None:
    with open_node(Settings(database_url=database_url)) as node:
        node.app.open_peer_account("node-b", USD, THRESHOLD, SETTLE_TO, 10**15)
        node.app.register_peer(
            "node-b", USD.code, payee["signer"].address, ["anvil-a"], "anvil-a", payee["url"]
        )
    b = payee["node"].app
    b.open_peer_account("node-a", USD, THRESHOLD, SETTLE_TO, 10**15)
    b.register_peer("node-a", USD.code, payer_address, ["anvil-a"], "anvil-a", "http://127.0.0.1:9")


def record_batch(database_url: str, payee: dict[str, Any], batch: int) -> None:
    """The same packets on both books: enough to make one settlement due."""
    amounts = [1_000_000 + 1_000 * batch + i for i in range(3)]
    ours = [PacketEntry(f"b{batch}-p{i}", Direction.OUTGOING, a) for i, a in enumerate(amounts)]
    theirs = [PacketEntry(e.packet_id, Direction.INCOMING, e.amount) for e in ours]
    payee["node"].app.record_packets("node-a", USD.code, f"batch-{batch}", theirs)
    with open_node(Settings(database_url=database_url)) as node:
        node.app.record_packets("node-b", USD.code, f"batch-{batch}", ours)


def running(process: NodeProcess) -> bool:
    return "node running" in process.log_text()


def epoch_above(database_url: str, epoch: int) -> bool:
    return leadership_epoch(database_url) > epoch


def _count(database_url: str, suffix: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM settlementledger_events WHERE topic LIKE %s", ("%" + suffix,)
        ).fetchone()
    return int(row[0]) if row else 0


def check_epochs(processes: list[NodeProcess], database_url: str, kills: int) -> None:
    """Every takeover took a new, higher epoch; none was taken twice."""
    taken = [epoch for p in processes for epoch in p.acquired_epochs()]
    assert len(taken) == len(set(taken)), f"an epoch was taken twice: {sorted(taken)}"
    assert len(taken) >= kills + 1, f"{kills} kills but only {len(taken)} takeovers"
    for process in processes:  # within one process, epochs only rise
        mine = process.acquired_epochs()
        assert mine == sorted(mine)
    assert leadership_epoch(database_url) == max(taken)


def check_books(database_url: str, payee: dict[str, Any], payer: str, batches: int) -> None:
    app = SettlementApp(env=postgres_env(database_url))
    try:
        account = app.peer_account("node-b", USD.code)
        assert account.in_flight == 0 and account.settlements == {}  # none open
        reserved = [
            (e.settlement_id, e.amount)
            for e in app.history(account.id)
            if type(e).__name__ == "SettlementReserved"
        ]
        applied = {
            e.settlement_id
            for e in app.history(account.id)
            if type(e).__name__ == "SettlementApplied"
        }
        assert len(reserved) == account.settlement_sequence == batches
        settled = 0
        channel_ids = set()
        for settlement_id, amount in reserved:
            assert settlement_id in applied, settlement_id
            settlement = app.settlement(settlement_id)
            names = [type(e).__name__ for e in app.history(settlement.id)]
            assert names.count("Completed") == 1 and names.count("ProofSigned") == 1, names
            assert not {"Failed", "DeadLettered", "ChannelLost"} & set(names), names
            settled += amount
            channel_ids.add(settlement.channel_id)
        [channel_id] = channel_ids
        assert channel_id is not None
        channel = app.load(channel_id, Channel)
    finally:
        app.close()
    recorded = sum(1_000_000 + 1_000 * b + i for b in range(1, batches + 1) for i in range(3))
    assert account.payable == recorded - settled
    b_account = payee["node"].app.peer_account("node-a", USD.code)
    credited = payee["node"].app.credited_claims(b_account.id)
    assert sum(credited.values()) == settled  # credited once each, to the unit
    assert b_account.receivable == account.payable
    assert channel.our_transferred == settled * UNIT
    # The chain agrees: the channel is open between the two keys with the deposit we recorded.
    web3: Web3 = payee["web3"]
    sender = TransactionSender(web3, payee["signer"], NonceManager())
    network = TokenNetworkClient(sender, Web3.to_checksum_address(channel.token_network), 0)
    assert channel.onchain_id is not None
    onchain = network.channel(channel.onchain_id)
    assert {onchain.participant1, onchain.participant2} == {
        Web3.to_checksum_address(payer),
        Web3.to_checksum_address(payee["signer"].address),
    }
    assert onchain.state.name.lower() == "opened"
    assert network.participant(channel.onchain_id, payer).deposit == channel.our_deposit
    assert channel.our_deposit >= settled * UNIT
