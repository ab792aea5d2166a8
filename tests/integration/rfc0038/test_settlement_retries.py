"""Engine-instructed settlements the executor gives up on are requested again (RFC 0038
"Retrying failed settlements"), backing off, decided from recorded events so a restart changes
nothing; the node's own threshold settlements go back to payable as before. Faults are injected
at the rail edge (`tests/support/process_edges.py`), on a real node and its PostgreSQL."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from engine_service import EngineService

from adapters.evm.errors import InsufficientFunds, RpcUnavailable
from application.engine_notices import MAX_RETRY_INTERVAL
from application.engine_quantity import Quantity
from application.engine_retries import retry_due_at
from application.processes.retry_policy import RetryPolicy
from application.processes.settlement_steps import Progress, SettlementSteps
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry, PeerAccount
from domain.settlement import Settlement, SettlementStatus
from projections.engine_retries import EngineSettlementRetrier, EngineSettlementRetries
from projections.runner import ProjectionRunner
from tests.support.process_edges import ChannelEdge, ClaimEdge, RailsEdge


@dataclass
class Parts:
    """What `settle run` runs on the leader for this, built afresh to stand for a restart."""

    steps: SettlementSteps[object]
    channels: ChannelEdge
    follower: ProjectionRunner
    retrier: EngineSettlementRetrier


def _parts(service: EngineService) -> Parts:
    node, app = service.node, service.node.app
    channels = ChannelEdge(app)
    policy = RetryPolicy(timedelta(seconds=1), timedelta(seconds=5), timedelta(minutes=5), 3)
    steps: SettlementSteps[object] = SettlementSteps(
        app, channels, ClaimEdge(), RailsEdge(), None, policy, service.clock, random.Random(1)
    )
    follower = ProjectionRunner(app, node.pool, EngineSettlementRetries(app))
    return Parts(steps, channels, follower, EngineSettlementRetrier(app, node.pool, service.clock))


def _drive(parts: Parts, service: EngineService, settlement_id: UUID) -> Settlement:
    for _ in range(30):
        progress = parts.steps.step(settlement_id)
        if progress is Progress.FINISHED:
            break
        if progress is Progress.WAITING:
            service.clock.advance(timedelta(seconds=10))
    parts.follower.catch_up()
    return service.node.app.settlement(settlement_id)


def _scheduled(service: EngineService) -> list[tuple[UUID, datetime]]:
    with service.node.pool.connection() as conn:
        rows = conn.execute(
            "SELECT settlement_id, next_attempt_at FROM engine_settlement_retries"
        ).fetchall()
    return [(r["settlement_id"], r["next_attempt_at"]) for r in rows]


def _only_settlement(account: PeerAccount, status: str) -> UUID:
    [settlement] = [UUID(k) for k, v in account.settlements.items() if v[1] == status]
    return settlement


def test_a_failed_instructed_settlement_is_retried_with_backoff_across_restarts(
    engine_service: EngineService,
) -> None:
    app, clock = engine_service.node.app, engine_service.clock
    engine_service.engine.set_up_account("bob")
    engine_service.engine.settle("bob", "k-1", Quantity(2500, 6))
    first = _only_settlement(app.peer_account("bob", "USD"), "reserved")

    parts = _parts(engine_service)
    parts.channels.faults = [InsufficientFunds("0xours", "gas")]  # not retryable: Failed
    failed = _drive(parts, engine_service, first)
    assert failed.status == SettlementStatus.FAILED
    [(scheduled_id, due)] = _scheduled(engine_service)
    assert scheduled_id == first
    assert due == retry_due_at(failed.updated_at, failed.settlement_key, first)
    assert failed.updated_at < due <= failed.updated_at + timedelta(seconds=1)

    assert parts.retrier.retry_due() == 0  # not due yet
    assert app.peer_account("bob", "USD").payable == 2500  # tracked, not yet in flight again
    clock.advance(timedelta(seconds=1))

    parts = _parts(engine_service)  # a restart: the schedule is in the database
    assert parts.retrier.retry_due() == 1
    assert _scheduled(engine_service) == []
    account = app.peer_account("bob", "USD")
    assert (account.payable, account.in_flight) == (0, 2500)
    second = _only_settlement(account, "reserved")
    assert app.settlement(second).settlement_key == failed.settlement_key + ":retry:1"

    # The retry fails too, after its own attempts (a dead letter before any proof is out):
    # the next retry waits longer, and the dead letter records that it was retried.
    parts.channels.faults = [RpcUnavailable("rpc", "down")] * 10
    dead = _drive(parts, engine_service, second)
    assert dead.status == SettlementStatus.DEAD_LETTERED
    [(_, due)] = _scheduled(engine_service)
    assert dead.updated_at + timedelta(seconds=1) <= due <= dead.updated_at + timedelta(seconds=2)
    clock.advance(timedelta(seconds=2))
    assert parts.retrier.retry_due() == 1
    assert parts.retrier.retry_due() == 0  # once
    assert app.settlement(second).resolution == "retried"
    third = _only_settlement(app.peer_account("bob", "USD"), "reserved")

    parts.channels.faults = []
    assert _drive(parts, engine_service, third).status == SettlementStatus.COMPLETED
    account = app.peer_account("bob", "USD")
    assert (account.payable, account.in_flight) == (0, 0)  # paid once, in full
    assert _scheduled(engine_service) == []


def test_a_retry_is_postponed_while_the_account_is_paused(engine_service: EngineService) -> None:
    app, clock = engine_service.node.app, engine_service.clock
    engine_service.engine.set_up_account("bob")
    engine_service.engine.settle("bob", "k-1", Quantity(700, 6))
    parts = _parts(engine_service)
    parts.channels.faults = [InsufficientFunds("0xours", "gas")]
    _drive(parts, engine_service, _only_settlement(app.peer_account("bob", "USD"), "reserved"))
    bob = app.peer_account("bob", "USD").id
    app.pause(bob, "operator looks at it")
    clock.advance(timedelta(seconds=1))
    assert parts.retrier.retry_due() == 0
    [(_, due)] = _scheduled(engine_service)
    assert due > clock()  # tried again later, not dropped
    app.resume(bob)
    clock.advance(MAX_RETRY_INTERVAL)
    assert parts.retrier.retry_due() == 1
    assert app.peer_account("bob", "USD").in_flight == 700


def test_the_nodes_own_settlements_go_back_to_payable_without_a_retry(
    engine_service: EngineService,
) -> None:
    app = engine_service.node.app
    account_id = app.open_peer_account("carol", Asset("USD", 6), 1000, 0, 10**6)
    app.record_packets("carol", "USD", "b1", [PacketEntry("p1", Direction.OUTGOING, 1500)])
    settlement_id = app.settle_if_due(account_id, engine_service.clock())
    assert settlement_id is not None
    parts = _parts(engine_service)
    parts.channels.faults = [InsufficientFunds("0xours", "gas")]
    assert _drive(parts, engine_service, settlement_id).status == SettlementStatus.FAILED
    assert _scheduled(engine_service) == []
    assert app.retry_engine_settlement(settlement_id, engine_service.clock()) is None
    assert app.load(account_id, PeerAccount).payable == 1500


def test_backoff_is_capped_at_an_hour() -> None:
    at = datetime(2026, 1, 1)
    for n in (10, 40, 1000):
        key = f"rfc0038:abc:retry:{n}"
        assert retry_due_at(at, key, UUID(int=n)) - at <= MAX_RETRY_INTERVAL
