"""The operator's chain routes on a node's API served by uvicorn: a channel closed and settled on
Anvil by the leader, refused by a standby (naming the leader) and by a node without rails; the
rails' breaker state and score read live from the node's coordinator; scopes enforced."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from uuid import UUID

import psycopg
import pytest
from api_service import TOKENS, Service, api_settings
from web3 import Web3

from adapters.evm.chains import advance_time, connect_rpc
from adapters.postgres.leadership import LeaderLock
from application.chain_ports import OnchainChannelState
from application.clock import ManualClock
from application.processes.settlement_monitor import SettlementMonitor
from bootstrap.http import HttpServer
from bootstrap.node import open_node
from bootstrap.node_operations import LiveNodeOperations
from bootstrap.settings import Settings
from devtools.dev_chain import deploy_rails
from domain.channel import Channel
from domain.peer_account import Direction, PacketEntry
from entrypoints.http.api.app import create_app
from entrypoints.http.client import ApiClient, ApiError
from tests.support.two_nodes import TOKEN_DECIMALS, USD, TestNode, befriend, start_node

RAIL = "anvil-a"
THRESHOLD = 5_000_000
UNKNOWN = "5d0c3f7e-0000-4000-8000-000000000000"


def _events(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM settlementledger_events").fetchone()
    return int(row[0]) if row else 0


@dataclass
class ChainApi:
    web3: Web3
    us: TestNode
    server: HttpServer
    lock: LeaderLock
    channel_id: UUID
    onchain_id: int

    def client(self, name: str | None) -> ApiClient:
        return ApiClient(self.server.url, TOKENS[name] if name else None, timeout=120)


@pytest.fixture
def chain_api(anvil_url: str, database_url: str, database_url_b: str) -> Iterator[ChainApi]:
    """Node-a paid node-b once over a channel on Anvil; node-a's API serves the operator's
    routes over its own settlement process. The lock is node-a's, not yet taken."""
    web3 = connect_rpc(anvil_url, 10)
    dev = deploy_rails(web3, [RAIL], token_decimals=TOKEN_DECIMALS, rpc_url=anvil_url)
    clock = ManualClock()
    us = start_node("node-a", "node-b", database_url, web3, dev, clock)
    partner = start_node("node-b", "node-a", database_url_b, web3, dev, clock)
    lock = LeaderLock(database_url, "node-a")
    try:
        befriend(us, partner, [RAIL], THRESHOLD)
        for node, direction in ((us, Direction.OUTGOING), (partner, Direction.INCOMING)):
            peer = partner.name if node is us else us.name
            node.node.app.record_packets(
                peer, USD.code, "t", [PacketEntry("t", direction, 6 * 10**6)]
            )
        us.node.runner(SettlementMonitor(us.node.app, clock)).catch_up()
        us.process.executor.run_until_settled()
        us.node.catch_up_read_models()
        [row] = us.node.read_side().all_channels(None)
        operations = LiveNodeOperations(us.node, us.process, lock)
        asgi = create_app(us.node.app, us.node.read_side(), api_settings(), operations=operations)
        with HttpServer(asgi) as server:
            yield ChainApi(
                web3, us, server, lock, UUID(str(row["channel_id"])), int(row["onchain_id"])
            )
    finally:
        lock.release()
        us.close()
        partner.close()


def test_a_standby_refuses_to_close_naming_the_leader_and_records_nothing(
    chain_api: ChainApi, database_url: str
) -> None:
    leader = LeaderLock(database_url, "node-z")
    assert leader.try_acquire() is not None
    try:
        before = _events(database_url)
        with chain_api.client("ops-alice") as ops, pytest.raises(ApiError) as refused:
            ops.close_channel(str(chain_api.channel_id), "maintenance")
        with chain_api.client("ops-alice") as ops, pytest.raises(ApiError) as not_settled:
            ops.settle_channel(str(chain_api.channel_id))
        with chain_api.client("reader") as reader:
            view = reader.rails()
    finally:
        leader.release()
    assert refused.value.status == 409 and "'node-z' leads" in refused.value.problem["detail"]
    assert refused.value.problem["type"] == "/problems/not-leader"
    assert not_settled.value.status == 409 and "node-z" in not_settled.value.problem["detail"]
    assert _events(database_url) == before
    assert chain_api.us.node.app.channel(chain_api.channel_id).state == "opened"
    assert view["leading"] is False and [r["name"] for r in view["rails"]] == [RAIL]


def test_the_leader_closes_and_settles_a_channel_on_anvil(chain_api: ChainApi) -> None:
    assert chain_api.lock.try_acquire() is not None
    channel, us = str(chain_api.channel_id), chain_api.us
    rail = us.process.rails[RAIL]
    with chain_api.client("ops-alice") as ops:
        with pytest.raises(ApiError) as open_yet:
            ops.settle_channel(channel)
        closed = ops.close_channel(channel, "partner retired")
        with pytest.raises(ApiError) as again:
            ops.close_channel(channel, "twice")
        with pytest.raises(ApiError) as too_soon:
            ops.settle_channel(channel)
        with pytest.raises(ApiError) as unknown:
            ops.close_channel(UNKNOWN, "no such channel")
        advance_time(chain_api.web3, 3600)
        settled = ops.settle_channel(channel)
        settled_again = ops.settle_channel(channel)
    assert (open_yet.value.status, open_yet.value.fields) == (409, ["channel_id"])
    assert "is opened: close it first" in open_yet.value.problem["detail"]
    assert closed["state"] == "closed" and closed["tx_hash"] and closed["rail"] == RAIL
    history = us.node.app.history(chain_api.channel_id)
    kinds = [type(e) for e in history]
    assert kinds.index(Channel.Abandoned) < kinds.index(Channel.Closed)  # the intent first
    [abandoned] = [e for e in history if isinstance(e, Channel.Abandoned)]
    assert abandoned.reason == "api:ops-alice: partner retired"
    assert (again.value.status, again.value.fields) == (409, ["channel_id"])
    assert "is closed: only an opened channel closes" in again.value.problem["detail"]
    assert too_soon.value.status == 409 and "challenge period runs until" in str(too_soon.value)
    assert (unknown.value.status, unknown.value.fields) == (404, ["channel_id"])
    assert settled["state"] == "settled" and settled["settled_now"] is True
    assert settled["our_amount"] + settled["partner_amount"] > 0
    assert settled["token_decimals"] == TOKEN_DECIMALS
    assert settled_again["settled_now"] is False
    assert settled_again["our_amount"] == settled["our_amount"]
    assert rail.network.channel(chain_api.onchain_id).state == OnchainChannelState.SETTLED


def test_rails_are_read_live_from_the_coordinator(chain_api: ChainApi) -> None:
    coordinator = chain_api.us.process.coordinator
    with chain_api.client("reader") as reader:
        healthy = reader.rails()
        for _ in range(chain_api.us.node.settings.rails.min_outcomes):  # failed attempts' report
            coordinator.record_outcome(RAIL, False)
        broken = reader.rails()
    [rail] = healthy["rails"]
    assert healthy["node_id"] == "node-a"
    assert (rail["breaker"], rail["unusable"]) == ("closed", None)
    assert rail["chain_id"] == chain_api.web3.eth.chain_id
    assert rail["score"] == pytest.approx(1.0) and rail["success_rate"] == 1.0
    assert rail["token_network"] == chain_api.us.process.rails[RAIL].token_network
    [rail] = broken["rails"]
    assert (rail["breaker"], rail["unusable"], rail["score"]) == ("open", "circuit open", None)


def test_without_rails_the_routes_answer_503_naming_what_is_missing(database_url: str) -> None:
    with open_node(Settings(database_url=database_url)) as node:
        lock = LeaderLock(database_url, node.settings.node_id)
        assert lock.try_acquire() is not None
        try:
            with_port = LiveNodeOperations(node, None, lock)
            served = [
                create_app(node.app, node.read_side(), api_settings(), operations=with_port),
                create_app(node.app, node.read_side(), api_settings()),  # e.g. `settle api`
            ]
            answers, invalid = [], []
            for asgi in served:
                with HttpServer(asgi) as server, ApiClient(server.url, TOKENS["ops-alice"]) as ops:
                    for call in (
                        lambda: ops.close_channel(UNKNOWN, "x"),
                        lambda: ops.settle_channel(UNKNOWN),
                        ops.rails,
                    ):
                        with pytest.raises(ApiError) as refused:
                            call()
                        answers.append((refused.value.status, refused.value.problem["detail"]))
                    for path, reason in (("nope", "x"), (UNKNOWN, " ")):
                        sent = {"reason": reason}
                        response = ops.send(
                            "POST", f"/v1/operator/channels/{path}/close", json=sent
                        )
                        invalid.append((response.status_code, response.json()["errors"]))
        finally:
            lock.release()
    assert [status for status, _ in answers] == [503] * 6
    assert all("SETTLE_RAILS" in detail for _, detail in answers[:3])
    assert all("settle run" in detail for _, detail in answers[3:])
    # A bad id or reason names the field where the node has the port (validated after the
    # caller and the port are known: without the port, 503 says so first).
    assert [(status, [e["field"] for e in errors]) for status, errors in invalid[:2]] == [
        (422, ["channel_id"]),
        (422, ["reason"]),
    ]


def test_chain_routes_need_the_operator_scope_and_rails_the_read_scope(service: Service) -> None:
    calls = {
        "close": lambda c: c.close_channel(UNKNOWN, "x"),
        "settle": lambda c: c.settle_channel(UNKNOWN),
        "rails": lambda c: c.rails(),
    }
    refusals = {}
    for name, call in calls.items():
        for client in (None, "connector", "reader", "peer-b"):
            with service.client(client) as api:
                try:
                    call(api)
                except ApiError as error:
                    refusals[(name, client)] = error.status
    assert {k: v for k, v in refusals.items() if k[1] is None} == {
        (name, None): 401 for name in calls
    }
    for client in ("connector", "peer-b"):
        assert all(refusals[(name, client)] == 403 for name in calls)
    assert refusals[("close", "reader")] == refusals[("settle", "reader")] == 403
    assert refusals[("rails", "reader")] == 503  # authorised; this API has no settlement process
