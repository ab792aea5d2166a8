"""Operator commands as an operator runs them: `settle peer pause|set-threshold|set-credit-limit`,
`settle channel list|close|settle` and `settle rails`, each a subprocess against a real
PostgreSQL (and Anvil for the chain); every bad input exits 2 on one line and writes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from web3 import Web3

from adapters.evm.chains import advance_time, connect_rpc
from application.chain_ports import OnchainChannelState
from application.clock import ManualClock
from application.processes.settlement_monitor import SettlementMonitor
from bootstrap.node import open_node
from bootstrap.settings import Settings
from devtools.dev_chain import DevelopmentRails, deploy_rails
from domain.peer_account import Direction, PacketEntry, PeerAccount
from tests.e2e.conftest import Settle
from tests.support.two_nodes import TOKEN_DECIMALS, USD, TestNode, befriend, start_node

OPEN = ["--asset", "USD", "--scale", "2", "--threshold", "1000", "--settle-to", "0"]


def _events(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM settlementledger_events").fetchone()
    return int(row[0]) if row else 0


def _packets(tmp_path: Path, name: str, amount: int) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps([{"packet_id": name, "direction": "outgoing", "amount": amount}]))
    return str(path)


def _due(database_url: str) -> bool:
    """Whether the account is due a settlement now: the monitor's own use case asks."""
    with open_node(Settings(database_url=database_url)) as node:
        account_id = PeerAccount.create_id("alice", "USD")
        return node.app.settle_if_due(account_id, datetime.now(UTC)) is not None


def test_pause_refuses_packets_and_settlements_until_resumed_and_threshold_decides_when(
    settle: Settle, database_url: str, tmp_path: Path
) -> None:
    assert settle("peer", "open", "alice", *OPEN, "--credit-limit", "10").returncode == 0
    record = ("packets", "record", "alice", "--asset", "USD", "--file")
    assert settle(*record, _packets(tmp_path, "p1", 600), "--batch-id", "b1").returncode == 0

    paused = settle("--json", "peer", "pause", "alice", "USD", "--reason", "audit", "--by", "ann")
    assert paused.returncode == 0, paused.stderr
    assert json.loads(paused.stdout)["paused_reason"] == "cli:ann: audit"
    refused = settle(*record, _packets(tmp_path, "p2", 1), "--batch-id", "b2")
    assert refused.returncode == 2 and "paused" in refused.stderr, refused.stderr

    changed = settle(
        "--json", "peer", "set-threshold", "alice", "USD", "--threshold", "500", "--settle-to", "50"
    )
    assert changed.returncode == 0, changed.stderr
    assert json.loads(changed.stdout)["threshold"] == 500
    assert not _due(database_url)  # payable 600 is above 500, but the peer is paused
    assert settle("peer", "resume", "alice", "--asset", "USD", "--by", "ann").returncode == 0
    assert _due(database_url)  # the new threshold, not the opening one (1000), decided

    limit = settle("--json", "peer", "set-credit-limit", "alice", "USD", "--credit-limit", "0")
    assert limit.returncode == 0 and json.loads(limit.stdout)["credit_limit"] == 0
    incoming = tmp_path / "in.json"
    incoming.write_text(json.dumps([{"packet_id": "i", "direction": "incoming", "amount": 1}]))
    over = settle(*record, str(incoming), "--batch-id", "b3")
    assert over.returncode == 2 and "credit" in over.stderr.lower(), over.stderr
    events = [e["event"] for e in json.loads(settle("--json", "history", "alice/USD").stdout)]
    for name in ("Paused", "ThresholdChanged", "Resumed", "CreditLimitChanged"):
        assert f"PeerAccount.{name}" in events


def test_bad_operator_input_exits_2_on_one_line_naming_it_and_writes_nothing(
    settle: Settle, database_url: str
) -> None:
    assert settle("peer", "open", "alice", *OPEN, "--credit-limit", "0").returncode == 0
    unknown_channel = "5d0c3f7e-0000-4000-8000-000000000000"
    cases: list[tuple[tuple[str, ...], str]] = [
        (("peer", "pause", "carol", "USD", "--reason", "x"), "no peer account carol/USD"),
        (("peer", "pause", "alice", "USD", "--reason", "  "), "--reason"),
        (("peer", "pause", "alice", "USD", "--reason", "a\nb"), "--reason"),
        (("peer", "pause", "alice", "USD"), "--reason"),
        (
            ("peer", "set-threshold", "carol", "USD", "--threshold", "9", "--settle-to", "1"),
            "no peer account carol/USD",
        ),
        (
            ("peer", "set-threshold", "alice", "USD", "--threshold", "-5", "--settle-to", "0"),
            "--threshold: -5 is negative",
        ),
        (
            ("peer", "set-threshold", "alice", "USD", "--threshold", "5", "--settle-to", "5"),
            "--settle-to: 5 must be below the threshold 5",
        ),
        (
            ("peer", "set-threshold", "alice", "USD", "--threshold", "0", "--settle-to", "0"),
            "--threshold: must be positive",
        ),
        (
            ("peer", "set-threshold", "alice", "USD", "--threshold", "1.5", "--settle-to", "0"),
            "--threshold: '1.5' is not a whole number",
        ),
        (
            ("peer", "set-credit-limit", "alice", "USD", "--credit-limit", "-1"),
            "--credit-limit: -1 is negative",
        ),
        (
            ("peer", "set-credit-limit", "carol", "EUR", "--credit-limit", "1"),
            "no peer account carol/EUR",
        ),
        (("channel", "close", "nope"), "CHANNEL_ID: 'nope' is not a channel UUID"),
        (("channel", "settle", "nope"), "CHANNEL_ID: 'nope' is not a channel UUID"),
        (("channel", "close", unknown_channel), unknown_channel),
        (("channel", "frobnicate"), "invalid choice"),
    ]
    before = _events(database_url)
    for args, named in cases:
        result = settle(*args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert named in result.stderr, (args, result.stderr)
        assert result.stderr.strip().count("\n") == 0, result.stderr
        assert "Traceback" not in result.stderr
        assert _events(database_url) == before


def test_rails_lists_each_configured_rail_and_says_which_rpc_does_not_answer(
    settle: Settle, anvil_url: str
) -> None:
    chain_id = connect_rpc(anvil_url, 10).eth.chain_id
    rail = {"chain_id": chain_id, "estimated_cost": 1, "estimated_latency_ms": 100}
    rails = {
        "rails": [
            {**rail, "name": "live", "rpc_url": anvil_url},
            {**rail, "name": "dead", "rpc_url": "http://127.0.0.1:1"},
        ]
    }
    result = settle("--json", "rails", env={"SETTLE_RAILS": json.dumps(rails)})
    assert result.returncode == 1, result.stderr  # a rail's RPC does not answer
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["live"]["rpc_up"] is True and rows["live"]["chain_id"] == chain_id
    assert rows["dead"]["rpc_up"] is False and "127.0.0.1:1" in rows["dead"]["rpc_problem"]
    assert rows["live"]["breaker"] is None  # no settlement has routed yet
    table = settle("rails", env={"SETTLE_RAILS": json.dumps({"rails": rails["rails"][:1]})})
    assert table.returncode == 0, table.stderr
    assert "live" in table.stdout and "no routing decision recorded yet" in table.stdout
    assert max(len(line) for line in table.stdout.splitlines()) <= 80


# Channels on Anvil: a node that paid its partner once, then its operator ends the channel.

RAIL = "anvil-a"
THRESHOLD = 5_000_000


@pytest.fixture
def paid_channel(
    anvil_url: str, database_url: str, database_url_b: str
) -> Iterator[tuple[Web3, DevelopmentRails, TestNode]]:
    web3 = connect_rpc(anvil_url, 10)
    dev = deploy_rails(web3, [RAIL], token_decimals=TOKEN_DECIMALS, rpc_url=anvil_url)
    clock = ManualClock()
    us = start_node("node-a", "node-b", database_url, web3, dev, clock)
    partner = start_node("node-b", "node-a", database_url_b, web3, dev, clock)
    try:
        befriend(us, partner, [RAIL], THRESHOLD)
        for node, direction in ((us, Direction.OUTGOING), (partner, Direction.INCOMING)):
            peer = partner.name if node is us else us.name
            node.node.app.record_packets(
                peer, USD.code, "t", [PacketEntry("t", direction, 6 * 10**6)]
            )
        us.node.runner(SettlementMonitor(us.node.app, clock)).catch_up()
        us.process.executor.run_until_settled()
        yield web3, dev, us
    finally:
        us.close()
        partner.close()


def test_channel_close_then_settle_on_anvil_through_the_cli(
    paid_channel: tuple[Web3, DevelopmentRails, TestNode], settle: Settle, anvil_url: str
) -> None:
    web3, dev, us = paid_channel
    env = {
        "SETTLE_CHAIN__BACKEND": "rpc",
        "SETTLE_CHAIN__RPC_URL": anvil_url,
        "SETTLE_CHAIN__CHAIN_ID": str(web3.eth.chain_id),
        "SETTLE_CHAIN__CONFIRMATIONS": "0",
        "SETTLE_CHAIN_PRIVATE_KEY": "0x" + us.signer._account.key.hex(),  # type: ignore[attr-defined]
        "SETTLE_RAILS": json.dumps({"rails": [r.model_dump() for r in dev.rails]}),
    }
    [row] = json.loads(settle("--json", "channel", "list").stdout)
    assert row["state"] == "opened" and row["token_decimals"] == TOKEN_DECIMALS
    assert int(row["our_transferred"]) == (6 * 10**6 - THRESHOLD // 5) * 10**12  # token units
    table = settle("channel", "list")
    assert "in tokens" in table.stdout and max(map(len, table.stdout.splitlines())) <= 80
    channel_id = row["channel_id"]

    rails = json.loads(settle("--json", "rails", env=env).stdout)
    assert [(r["name"], r["rpc_up"], r["breaker"]) for r in rails] == [(RAIL, True, "closed")]
    assert rails[0]["score"] is not None and rails[0]["decided_at"]

    no_rail = settle("channel", "close", channel_id, env={**env, "SETTLE_RAILS": '{"rails": []}'})
    assert no_rail.returncode == 2 and "no configured rail serves channel" in no_rail.stderr
    assert no_rail.stderr.strip().count("\n") == 0
    early = settle("channel", "settle", channel_id, env=env)
    assert early.returncode == 2 and "close it first" in early.stderr

    closed = settle("--json", "channel", "close", channel_id, "--by", "ann", env=env)
    assert closed.returncode == 0, closed.stderr
    assert json.loads(closed.stdout)["state"] == "closed"
    history = json.loads(settle("--json", "history", channel_id).stdout)
    names = [e["event"] for e in history]
    assert "Channel.Abandoned" in names and "Channel.Closed" in names
    assert names.index("Channel.Abandoned") < names.index("Channel.Closed")  # intent first
    rail = us.process.rails[RAIL]
    onchain_id = int(row["onchain_id"])
    assert rail.network.channel(onchain_id).state == OnchainChannelState.CLOSED

    too_soon = settle("channel", "settle", channel_id, env=env)
    assert too_soon.returncode == 2 and "challenge period runs until" in too_soon.stderr
    advance_time(web3, 3600)
    settled = settle("--json", "channel", "settle", channel_id, env=env)
    assert settled.returncode == 0, settled.stderr
    payout = json.loads(settled.stdout)
    assert payout["state"] == "settled" and payout["settled_now"] is True
    assert rail.network.channel(onchain_id).state == OnchainChannelState.SETTLED
    assert payout["our_amount"] + payout["partner_amount"] > 0
