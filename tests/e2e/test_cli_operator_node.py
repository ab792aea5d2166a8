"""The CLI beside a running node: `settle channel close|settle` take the leader lock for their
chain calls (a leader sends with the same key) and refuse, naming the leader and its API route,
while another instance holds it; `settle rails --node` shows the node's live breakers."""

from __future__ import annotations

import getpass
import json
from uuid import UUID

import psycopg
from web3 import Web3

from adapters.postgres.leadership import LeaderLock
from bootstrap.http import HttpServer
from bootstrap.node_operations import LiveNodeOperations
from devtools.dev_chain import DevelopmentRails
from entrypoints.http.api.app import create_app
from tests.e2e.conftest import Settle
from tests.e2e.test_cli_operator import RAIL, paid_channel  # noqa: F401 - the fixture
from tests.integration.api.api_service import TOKENS, api_settings
from tests.support.two_nodes import TestNode


def _leadership(database_url: str) -> tuple[int, str | None, int]:
    """(epoch, holder, events recorded)."""
    with psycopg.connect(database_url) as conn:
        lead = conn.execute("SELECT epoch, holder FROM node_leadership").fetchone()
        events = conn.execute("SELECT count(*) FROM settlementledger_events").fetchone()
    assert lead is not None and events is not None
    return int(lead[0]), lead[1], int(events[0])


def chain_env(web3: Web3, dev: DevelopmentRails, us: TestNode, anvil_url: str) -> dict[str, str]:
    return {
        "SETTLE_CHAIN__BACKEND": "rpc",
        "SETTLE_CHAIN__RPC_URL": anvil_url,
        "SETTLE_CHAIN__CHAIN_ID": str(web3.eth.chain_id),
        "SETTLE_CHAIN__CONFIRMATIONS": "0",
        "SETTLE_CHAIN_PRIVATE_KEY": "0x" + us.signer._account.key.hex(),  # type: ignore[attr-defined]
        "SETTLE_RAILS": json.dumps({"rails": [r.model_dump() for r in dev.rails]}),
    }


def test_close_and_settle_wait_for_no_leader_and_hold_the_lock_while_they_send(
    paid_channel: tuple[Web3, DevelopmentRails, TestNode],  # noqa: F811
    settle: Settle,
    anvil_url: str,
    database_url: str,
) -> None:
    web3, dev, us = paid_channel
    env = chain_env(web3, dev, us, anvil_url)
    [row] = json.loads(settle("--json", "channel", "list").stdout)
    channel_id = row["channel_id"]
    leader = LeaderLock(database_url, "node-a")
    assert leader.try_acquire() is not None
    try:
        before = _leadership(database_url)
        refused = settle("channel", "close", channel_id, env=env)
        after = _leadership(database_url)
    finally:
        leader.release()
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.strip().count("\n") == 0 and "Traceback" not in refused.stderr
    assert "node 'node-a' leads" in refused.stderr
    assert f"POST /v1/operator/channels/{channel_id}/close" in refused.stderr
    assert after == before  # nothing recorded, the lock not taken
    assert us.node.app.channel(UUID(channel_id)).state == "opened"

    closed = settle("--json", "channel", "close", channel_id, env=env)
    assert closed.returncode == 0, closed.stderr
    epoch, holder, _ = _leadership(database_url)
    assert (epoch, holder) == (before[0] + 1, f"cli:{getpass.getuser()}")  # it led to send
    assert json.loads(closed.stdout)["state"] == "closed"

    assert leader.try_acquire() is not None  # released when the command ended
    try:
        before = _leadership(database_url)
        waiting = settle("channel", "settle", channel_id, env=env)
        assert _leadership(database_url) == before
    finally:
        leader.release()
    assert waiting.returncode == 2 and "node 'node-a' leads" in waiting.stderr
    assert f"POST /v1/operator/channels/{channel_id}/settle" in waiting.stderr


def test_rails_from_a_running_node_shows_its_live_breakers(
    paid_channel: tuple[Web3, DevelopmentRails, TestNode],  # noqa: F811
    settle: Settle,
    database_url: str,
) -> None:
    _, _, us = paid_channel
    lock = LeaderLock(database_url, "node-a")  # not taken: this node is a standby
    operations = LiveNodeOperations(us.node, us.process, lock)
    asgi = create_app(us.node.app, us.node.read_side(), api_settings(), operations=operations)
    for _ in range(us.node.settings.rails.min_outcomes):  # failed attempts open the breaker
        us.process.coordinator.record_outcome(RAIL, False)
    token = {"SETTLE_API_TOKEN": TOKENS["reader"]}
    with HttpServer(asgi) as server:
        live = settle("--json", "rails", "--node", server.url, env=token)
        table = settle("rails", "--node", server.url, env=token)
        wrong = settle("rails", "--node", server.url, env={"SETTLE_API_TOKEN": "nope"})
        url = server.url
    gone = settle("rails", "--node", url, env=token)
    assert live.returncode == 0, live.stderr
    [rail] = json.loads(live.stdout)
    assert (rail["name"], rail["breaker"], rail["unusable"]) == (RAIL, "open", "circuit open")
    assert rail["node_id"] == "node-a" and rail["leading"] is False
    assert table.returncode == 0 and "standby" in table.stdout and "open" in table.stdout
    assert max(len(line) for line in table.stdout.splitlines()) <= 80
    assert wrong.returncode == 2 and "SETTLE_API_TOKEN" in wrong.stderr
    assert wrong.stderr.strip().count("\n") == 0
    assert gone.returncode == 1 and "did not answer" in gone.stderr
