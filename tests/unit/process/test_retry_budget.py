"""The retry budget: a peer or RPC outage of hours is waited out; non-retryable errors are not."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta

import pytest

from adapters.evm.errors import RpcUnavailable
from application.app import SettlementApp
from application.processes.retry_policy import RetryPolicy
from application.processes.settlement_steps import Progress
from application.settings import SettlementPolicySettings
from domain.settlement import SettlementStatus
from tests.unit.process.test_settlement_steps import World


@pytest.fixture
def app() -> Iterator[SettlementApp]:
    ledger = SettlementApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield ledger
    ledger.close()


def test_defaults_wait_minutes_between_tries_and_retry_for_a_day() -> None:
    policy = RetryPolicy.from_settings(SettlementPolicySettings())
    rng = random.Random(3)
    delays = [policy.delay(attempt, rng) for attempt in range(1, 40)]
    assert all(timedelta(minutes=2, seconds=30) <= d <= timedelta(minutes=5) for d in delays[8:])
    assert not policy.gives_up(300, timedelta(hours=23, minutes=59), patient=False)
    assert policy.gives_up(300, timedelta(days=1), patient=False)


def test_an_attempt_cap_gives_up_on_faults_but_waits_for_a_peer_that_asked_to() -> None:
    policy = RetryPolicy(max_attempts=3, retry_for=timedelta(minutes=5))
    assert policy.gives_up(3, timedelta(seconds=1), patient=False)
    assert not policy.gives_up(3, timedelta(seconds=1), patient=True)
    assert policy.gives_up(3, timedelta(minutes=5), patient=True)


def test_jitter_stays_between_half_and_all_of_the_capped_backoff() -> None:
    policy = RetryPolicy(timedelta(seconds=1), timedelta(seconds=60), timedelta(days=1))
    rng = random.Random(11)
    for attempt in range(1, 200):
        base = min(timedelta(seconds=2 ** min(attempt - 1, 10)), timedelta(seconds=60))
        assert base / 2 <= policy.delay(attempt, rng) <= base


def test_an_rpc_outage_of_hours_is_waited_out_with_the_default_policy(app: SettlementApp) -> None:
    w = World(app)
    w.steps.policy = RetryPolicy.from_settings(SettlementPolicySettings())
    w.channels.faults = [RpcUnavailable("rpc", "down")] * 40  # > 2 hours at <= 5 min apart
    progress = Progress.ADVANCED
    while progress is not Progress.FINISHED:
        progress = w.steps.step(w.settlement_id)
        if progress is Progress.WAITING:
            assert w.settlement.next_attempt_at is not None
            w.clock.now = w.settlement.next_attempt_at
    assert w.settlement.status == SettlementStatus.COMPLETED
    assert w.clock.now - w.settlement.requested_at > timedelta(hours=2)
    assert w.settlement.attempts == 40
