"""RFC 0038 conformance, one test per requirement, on two engines settling through a channel on
Anvil. Each node serves the engine API; a scripted connector per node records what its engine
tells it. Connector A instructs a settlement, A's engine pays B's over the channel, B's engine
tells connector B to credit it; messages go engine to engine through the connectors."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from adapters.connector.client import ConnectorClient
from adapters.evm.chains import connect_rpc
from adapters.postgres.idempotency import PostgresIdempotencyStore
from application.clock import ManualClock
from application.engine_claims import ClaimMessages, MessageClaimDelivery
from application.engine_messages import SettlementInfoMessages
from application.engine_notices import MAX_RETRY_INTERVAL
from application.engine_service import EngineTerms, SettlementEngine
from bootstrap.http import HttpServer
from devtools.dev_chain import deploy_rails
from domain.peer_account import Direction, PacketEntry, PeerAccount
from domain.settlement import Settlement, SettlementStatus
from entrypoints.http.api.app import create_app
from entrypoints.http.api.auth import token_sha256
from entrypoints.http.api.settings import ApiClientSettings, ApiSettings, Scope
from projections.connector_notices import ConnectorNotices, ConnectorNotifier
from projections.runner import ProjectionRunner
from tests.integration.rfc0038.scripted_connector import Call, ScriptedConnector
from tests.support.two_nodes import USD, TestNode, start_node

CONNECTOR_TOKEN = "tok-connector"
THRESHOLD = 5_000_000


@dataclass
class Side:
    """One node: its engine API, its scripted connector and the parts that tell the connector."""

    node: TestNode
    api: httpx.Client
    connector: ScriptedConnector
    notices: ProjectionRunner
    notifier: ConnectorNotifier

    def settle(self, account: str, key: str, body: Any) -> httpx.Response:
        return self.api.post(
            f"/accounts/{account}/settlements",
            content=json.dumps(body),
            headers={"Idempotency-Key": key, "Content-Type": "application/json"},
        )

    def tell_connector(self) -> int:
        for _ in range(3):  # the credit, then the obligation it records, then its notice
            self.notices.catch_up()
        return self.notifier.send_due()


def _engine_side(node: TestNode, clock: ManualClock, answers: list[tuple[int, bytes]]) -> Any:
    app = node.node.app
    engine = SettlementEngine(
        app,
        PostgresIdempotencyStore(node.node.pool),
        EngineTerms(USD, THRESHOLD, 10**15),
        clock,
        SettlementInfoMessages({"address": node.signer.address}),
    )
    clients = {
        "connector": ApiClientSettings(
            token_sha256=token_sha256(CONNECTOR_TOKEN), scopes=frozenset({Scope.CONNECTOR})
        )
    }
    asgi = create_app(
        app, node.node.read_side(), ApiSettings(clients=clients), clock, engine=engine
    )
    return HttpServer(asgi), ScriptedConnector(answers)


@pytest.fixture
def sides(
    anvil_url: str, database_url: str, database_url_b: str
) -> Iterator[tuple[Side, Side, ManualClock]]:
    web3 = connect_rpc(anvil_url, 10)
    dev = deploy_rails(web3, ["rfc-a", "rfc-b"], rpc_url=anvil_url)
    clock = ManualClock()
    a = start_node("node-a", "node-b", database_url, web3, dev, clock)
    b = start_node("node-b", "node-a", database_url_b, web3, dev, clock)
    built = []
    try:
        # Connector B fails twice before it acknowledges: the engine must retry.
        for node, answers in ((a, [(201, b"")]), (b, [(500, b""), (503, b""), (201, b"")])):
            server, connector = _engine_side(node, clock, answers)
            server.start()
            connector.__enter__()
            built.append((server, connector))
        parts = []
        for node, (server, connector) in zip((a, b), built, strict=True):
            api = httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {CONNECTOR_TOKEN}"}
            )
            notices = node.node.runner(ConnectorNotices(node.node.app, clock))
            notifier = ConnectorNotifier(
                node.node.app,
                node.node.pool,
                ConnectorClient(connector.url),
                clock,
                random.Random(3),
            )
            parts.append(Side(node, api, connector, notices, notifier))
        yield parts[0], parts[1], clock
    finally:
        for server, connector in built:
            connector.__exit__(None, None, None)
            server.stop()
        a.close()
        b.close()


def _peer(side: Side, other: Side, rails: list[str]) -> None:
    """The connector sets up the account; the node learns where the peer settles."""
    assert side.api.post("/accounts", json={"id": other.node.name}).status_code == 201
    side.node.node.app.register_peer(
        other.node.name,
        USD.code,
        other.node.signer.address,
        rails,
        rails[0],
        other.node.claims_url,
    )


def _set_up(a: Side, b: Side) -> None:
    _peer(a, b, ["rfc-a", "rfc-b"])
    _peer(b, a, ["rfc-a", "rfc-b"])
    a.node.node.runner(a.node.process.provisioner).catch_up()  # A's channel to B, deposited
    # The packets A's settlements pay for, as B's connector recorded them (B's receivable).
    b.node.node.app.record_packets(
        "node-a", USD.code, "packets", [PacketEntry("p", Direction.INCOMING, 10_000_000)]
    )


def _settlements(side: Side) -> list[Settlement]:
    app = side.node.node.app
    account = app.peer_account("node-b", "USD")
    return [
        app.settlement(e.settlement_id)
        for e in app.history(account.id)
        if isinstance(e, PeerAccount.SettlementReserved)
    ]


def _pay(a: Side) -> None:
    a.node.process.executor.run_until_settled()


def test_settle_then_credit_symmetry_with_retries_and_one_key(
    sides: tuple[Side, Side, ManualClock],
) -> None:
    """Settlement symmetry: what A is told to settle, B tells its connector to credit; the
    credit is retried on errors with the same Idempotency-Key, backing off at most an hour."""
    a, b, clock = sides
    _set_up(a, b)
    response = a.settle("node-b", "settle-1", {"amount": "2500000", "scale": 6})
    assert response.status_code == 201
    _pay(a)
    assert [s.status for s in _settlements(a)] == [SettlementStatus.COMPLETED]
    assert b.node.node.app.peer_account("node-a", "USD").receivable == 10_000_000 - 2_500_000

    assert b.tell_connector() == 0  # 500
    clock.advance(MAX_RETRY_INTERVAL)
    assert b.tell_connector() == 0  # 503
    clock.advance(MAX_RETRY_INTERVAL)
    assert b.tell_connector() == 1
    calls = b.connector.calls
    assert [c.path for c in calls] == ["/accounts/node-a/settlements"] * 3
    assert len({c.headers["Idempotency-Key"] for c in calls}) == 1
    assert {json.dumps(c.json(), sort_keys=True) for c in calls} == {
        json.dumps({"amount": "2500000", "scale": 6}, sort_keys=True)
    }
    clock.advance(MAX_RETRY_INTERVAL)
    assert b.tell_connector() == 0 and len(b.connector.calls) == 3  # acknowledged: never again


def test_same_key_same_request_same_answer_other_request_409(
    sides: tuple[Side, Side, ManualClock],
) -> None:
    a, b, clock = sides
    _set_up(a, b)
    first = a.settle("node-b", "k", {"amount": "1000000", "scale": 6})
    clock.advance(timedelta(hours=23))
    again = a.settle("node-b", "k", {"amount": "1000000", "scale": 6})
    assert (first.status_code, first.content) == (again.status_code, again.content)
    assert a.settle("node-b", "k", {"amount": "1000001", "scale": 6}).status_code == 409
    _pay(a)
    assert a.node.node.app.peer_account("node-b", "USD").in_flight == 0
    b.tell_connector()
    clock.advance(MAX_RETRY_INTERVAL * 3)
    b.tell_connector()
    b.tell_connector()
    credited = [c.json()["amount"] for c in b.connector.calls]
    assert set(credited) == {"1000000"}  # one settlement, told (and retried) once


def test_leftovers_finer_than_the_scale_settle_once_they_add_up(
    sides: tuple[Side, Side, ManualClock],
) -> None:
    a, b, _ = sides
    _set_up(a, b)
    assert a.settle("node-b", "l1", {"amount": "15", "scale": 7}).json() == {
        "amount": "1",
        "scale": 6,
    }
    assert a.settle("node-b", "l2", {"amount": "4", "scale": 7}).json() == {
        "amount": "0",
        "scale": 6,
    }
    assert a.settle("node-b", "l3", {"amount": "1", "scale": 7}).json() == {
        "amount": "1",
        "scale": 6,
    }
    _pay(a)
    [paid_1, paid_2] = sorted(s.amount for s in _settlements(a))
    assert paid_1 + paid_2 == 2  # 20 at scale 7: nothing lost, nothing rounded


def test_messages_go_engine_to_engine_as_raw_bytes(sides: tuple[Side, Side, ManualClock]) -> None:
    a, b, _ = sides
    _set_up(a, b)
    # Connector A forwards A's message inside an ILP Prepare; connector B hands it to B's engine.
    answer = b.api.post(
        "/accounts/node-a/messages",
        content=b'{"type":"settlement_info"}',
        headers={"Content-Type": "application/octet-stream"},
    )
    assert answer.status_code == 201
    assert answer.headers["content-type"] == "application/octet-stream"
    assert json.loads(answer.content)["address"] == b.node.signer.address


def test_refusals(sides: tuple[Side, Side, ManualClock]) -> None:
    a, b, _ = sides
    _set_up(a, b)
    assert a.settle("nobody", "r1", {"amount": "1", "scale": 6}).status_code == 404
    for body, field in (({"amount": "1"}, "scale"), ({"amount": "x", "scale": 6}, "amount")):
        response = a.settle("node-b", "r2", body)
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == field
    assert a.api.delete("/accounts/node-b").status_code == 204
    assert a.settle("node-b", "r3", {"amount": "1", "scale": 6}).status_code == 404


def _claims_as_messages(
    a: Side, b: Side, clock: ManualClock
) -> tuple[HttpServer, ScriptedConnector]:
    """B's engine answering claims among its messages, and A's connector carrying A's engine's
    messages to it (as connectors do in ILP Prepare packets to `peer.settle`); A's claims to B
    go that way."""
    b_node = b.node.node
    info = SettlementInfoMessages({"address": b.node.signer.address})
    engine = SettlementEngine(
        b_node.app,
        PostgresIdempotencyStore(b_node.pool),
        EngineTerms(USD, THRESHOLD, 10**15),
        clock,
        ClaimMessages(b.node.process.receiver, info),
    )
    clients = {
        "connector": ApiClientSettings(
            token_sha256=token_sha256(CONNECTOR_TOKEN), scopes=frozenset({Scope.CONNECTOR})
        )
    }
    server = HttpServer(
        create_app(
            b_node.app, b_node.read_side(), ApiSettings(clients=clients), clock, engine=engine
        )
    ).start()

    def to_peer_engine(call: Call) -> tuple[int, bytes]:
        # Connector A's peer for account node-b is B, whose own account for A is node-a.
        assert call.path == "/accounts/node-b/messages"
        answer = httpx.post(
            f"{server.url}/accounts/node-a/messages",
            content=call.body,
            headers={
                "Authorization": f"Bearer {CONNECTOR_TOKEN}",
                "Content-Type": "application/octet-stream",
            },
        )
        return answer.status_code, answer.content

    connector = ScriptedConnector(messages=to_peer_engine).__enter__()
    process = a.node.process
    process.steps.claims = MessageClaimDelivery(
        process.delivery, ConnectorClient(connector.url), ["node-b"]
    )
    return server, connector


def test_claims_travel_as_messages_through_the_connectors(
    sides: tuple[Side, Side, ManualClock],
) -> None:
    """Exchanging messages: with B configured as a message peer, A's claim goes engine to engine
    through the connectors (no claims endpoint of B's is known to A), and B's connector is told
    to credit it, as on the direct path."""
    a, b, clock = sides
    assert a.api.post("/accounts", json={"id": "node-b"}).status_code == 201
    nowhere = "http://127.0.0.1:9"  # node to node would fail: nothing listens there
    a.node.node.app.register_peer(
        "node-b", USD.code, b.node.signer.address, ["rfc-a", "rfc-b"], "rfc-a", nowhere
    )
    _peer(b, a, ["rfc-a", "rfc-b"])
    a.node.node.runner(a.node.process.provisioner).catch_up()
    b.node.node.app.record_packets(
        "node-a", USD.code, "packets", [PacketEntry("p", Direction.INCOMING, 10_000_000)]
    )
    server, connector_a = _claims_as_messages(a, b, clock)
    try:
        assert a.settle("node-b", "m-1", {"amount": "1500000", "scale": 6}).status_code == 201
        _pay(a)
        assert [s.status for s in _settlements(a)] == [SettlementStatus.COMPLETED]
        [call] = connector_a.calls
        assert call.path == "/accounts/node-b/messages"
        assert call.headers["Content-Type"] == "application/octet-stream"
        assert json.loads(call.body)["type"] == "claim"
        assert b.node.node.app.peer_account("node-a", "USD").receivable == 8_500_000

        # A claim that names another sender than the account it came through is refused.
        forged = json.loads(call.body)
        forged["claim"]["sender_node"] = "node-x"
        answer = httpx.post(
            f"{server.url}/accounts/node-a/messages",
            content=json.dumps(forged).encode(),
            headers={"Authorization": f"Bearer {CONNECTOR_TOKEN}"},
        )
        assert answer.status_code == 201
        assert json.loads(answer.content)["type"] == "claim_rejected"
        assert b.node.node.app.peer_account("node-a", "USD").receivable == 8_500_000

        for _ in range(3):  # B's connector answers 500, 503, then credits
            b.tell_connector()
            clock.advance(MAX_RETRY_INTERVAL)
        credits = {c.json()["amount"] for c in b.connector.calls}
        assert credits == {"1500000"}
    finally:
        connector_a.__exit__(None, None, None)
        server.stop()
