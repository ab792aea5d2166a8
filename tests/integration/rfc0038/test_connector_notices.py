"""Incoming settlements on engine accounts are told to the connector until it acknowledges them:
the same Idempotency-Key on every retry, backoff kept in the database across restarts, what the
connector did not credit told again with the next one."""

from __future__ import annotations

import random
from datetime import timedelta

from engine_service import EngineService
from scripted_connector import ScriptedConnector

from adapters.connector.client import ConnectorClient
from application.engine_notices import MAX_RETRY_INTERVAL, retry_interval
from domain.engine_account import EngineAccount
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry
from projections.connector_notices import ConnectorNotices, ConnectorNotifier
from projections.runner import ProjectionRunner


def _credit_claim(service: EngineService, claim_id: str, amount: int) -> None:
    """A claim from bob credited to his account (the claims path records the same event)."""
    app = service.node.app
    app.record_packets(
        "bob", "USD", f"b-{claim_id}", [PacketEntry(claim_id, Direction.INCOMING, amount)]
    )
    app.receive_settlement(app.peer_account("bob", "USD").id, claim_id, amount)


def _parts(service: EngineService, url: str) -> tuple[ProjectionRunner, ConnectorNotifier]:
    node = service.node
    runner = ProjectionRunner(node.app, node.pool, ConnectorNotices(node.app, service.clock))
    client = ConnectorClient(url)
    notifier = ConnectorNotifier(node.app, node.pool, client, service.clock, random.Random(7))
    return runner, notifier


def _pending(service: EngineService) -> list[tuple[str, int, int]]:
    with service.node.pool.connection() as conn:
        rows = conn.execute("SELECT key, amount, attempts FROM engine_notices").fetchall()
    return [(r["key"], int(r["amount"]), r["attempts"]) for r in rows]


def test_retried_with_one_key_until_acknowledged_across_restarts(
    engine_service: EngineService,
) -> None:
    engine_service.engine.set_up_account("bob")
    failing = [(500, b""), (503, b"")]
    with ScriptedConnector([*failing, (201, b'{"amount":"1000","scale":6}')]) as connector:
        runner, notifier = _parts(engine_service, connector.url)
        _credit_claim(engine_service, "claim-1", 1200)
        runner.catch_up()
        runner.catch_up()  # the obligation recorded while following is followed too
        [(key, amount, attempts)] = _pending(engine_service)
        assert (amount, attempts) == (1200, 0)

        assert notifier.send_due() == 0  # 500
        assert notifier.send_due() == 0  # not due yet: the backoff is in the table
        assert len(connector.calls) == 1
        engine_service.clock.advance(MAX_RETRY_INTERVAL)

        runner, notifier = _parts(engine_service, connector.url)  # a restart
        assert notifier.send_due() == 0  # 503
        engine_service.clock.advance(MAX_RETRY_INTERVAL)
        assert notifier.send_due() == 1
        runner.catch_up()
        assert _pending(engine_service) == []

        calls = connector.calls
        assert [c.path for c in calls] == ["/accounts/bob/settlements"] * 3
        assert {c.headers["Idempotency-Key"] for c in calls} == {key}
        assert calls[0].json() == {"amount": "1200", "scale": 6}

        # The connector credited 1000 of 1200: the other 200 ride with the next settlement.
        engine = engine_service.node.app.load(EngineAccount.create_id("bob"), EngineAccount)
        assert engine.uncredited == 200
        _credit_claim(engine_service, "claim-2", 300)
        runner.catch_up()
        runner.catch_up()
        assert [amount for _, amount, _ in _pending(engine_service)] == [500]


def test_an_obligation_is_recorded_once_per_log_position(engine_service: EngineService) -> None:
    engine_service.engine.set_up_account("bob")
    app = engine_service.node.app
    peer_id = app.peer_account("bob", "USD").id
    assert app.owe_incoming_settlement(peer_id, 10, "c", 5, "key-a") is True
    assert app.owe_incoming_settlement(peer_id, 10, "c", 5, "key-b") is False
    engine = app.load(EngineAccount.create_id("bob"), EngineAccount)
    assert engine.owed == {"key-a": 5}


def test_claims_on_accounts_without_an_engine_tell_nobody(engine_service: EngineService) -> None:
    app = engine_service.node.app
    app.open_peer_account("carol", Asset("USD", 6), 10_000, 0, 10_000)
    app.record_packets("carol", "USD", "b", [PacketEntry("p", Direction.INCOMING, 50)])
    app.receive_settlement(app.peer_account("carol", "USD").id, "claim", 50)
    with ScriptedConnector() as connector:
        runner, _ = _parts(engine_service, connector.url)
        runner.catch_up()
        assert _pending(engine_service) == []


def test_retry_interval_grows_with_jitter_and_never_exceeds_an_hour() -> None:
    rng = random.Random(1)
    intervals = [retry_interval(n, rng) for n in range(40)]
    assert all(i <= MAX_RETRY_INTERVAL for i in intervals)
    assert intervals[0] < timedelta(seconds=1.01) < intervals[5]
    assert len({i for i in intervals[20:]}) > 1  # jittered, not one fixed value
