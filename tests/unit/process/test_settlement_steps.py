"""The settlement state machine on the in-memory event store, with faults at the adapter edge."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta

import pytest

from adapters.evm.errors import ChannelDisputed, InsufficientFunds, RpcUnavailable
from application.app import SettlementApp
from application.clock import ManualClock
from application.processes.retry_policy import RetryPolicy
from application.processes.settlement_steps import Progress, SettlementSteps
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry, PeerAccount
from domain.settlement import Settlement, SettlementStatus
from tests.support.process_edges import (
    ChannelEdge,
    ClaimEdge,
    DeliveryRefused,
    RailsEdge,
    events_of,
)


@pytest.fixture
def app() -> Iterator[SettlementApp]:
    ledger = SettlementApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield ledger
    ledger.close()


class World:
    def __init__(self, app: SettlementApp) -> None:
        self.app = app
        self.clock = ManualClock()
        self.channels = ChannelEdge(app)
        self.claims = ClaimEdge()
        self.rails = RailsEdge()
        self.steps = SettlementSteps(
            app,
            self.channels,
            self.claims,
            self.rails,
            None,
            RetryPolicy(timedelta(milliseconds=100), timedelta(seconds=5), timedelta(minutes=5)),
            self.clock,
            random.Random(1),
        )
        self.account_id = app.open_peer_account("bob", Asset("USD", 2), 1000, 100, 10**6)
        app.record_packets("bob", "USD", "b1", [PacketEntry("p1", Direction.OUTGOING, 1500)])
        self.settlement_id = app.request_settlement("s1", self.account_id, 1400, self.clock())

    def run(self, limit: int = 30) -> Progress:
        progress = Progress.ADVANCED
        for _ in range(limit):
            progress = self.steps.step(self.settlement_id)
            if progress is Progress.WAITING:
                self.clock.advance(timedelta(seconds=10))
                continue
            if progress is Progress.FINISHED:
                break
        return progress

    @property
    def settlement(self) -> Settlement:
        return self.app.settlement(self.settlement_id)

    @property
    def account(self) -> PeerAccount:
        return self.app.load(self.account_id, PeerAccount)


def test_happy_path_pays_once_and_moves_in_flight_out(app: SettlementApp) -> None:
    w = World(app)
    assert w.run() is Progress.FINISHED
    assert w.settlement.status == SettlementStatus.COMPLETED
    assert events_of(app, w.settlement_id) == [
        "Requested",
        "RailChosen",
        "ChannelReady",
        "ProofSigned",
        "Delivered",
        "Applied",
        "Completed",
    ]
    assert (w.account.payable, w.account.in_flight) == (100, 0)
    assert [(n, t) for _, n, t in w.claims.delivered] == [(1, 1400)]
    assert w.steps.step(w.settlement_id) is Progress.FINISHED  # nothing repeats


def test_rpc_timeouts_then_success_are_retried_with_backoff(app: SettlementApp) -> None:
    w = World(app)
    w.channels.faults = [RpcUnavailable("rpc", "timed out"), RpcUnavailable("rpc", "timed out")]
    assert w.run() is Progress.FINISHED
    history = app.history(w.settlement_id)
    failures = [e for e in history if type(e).__name__ == "AttemptFailed"]
    assert [f.attempt for f in failures] == [1, 2]
    assert all(f.retryable and f.error_class == "RpcUnavailable" for f in failures)
    delays = [f.next_attempt_at - f.at for f in failures]
    assert timedelta(milliseconds=50) <= delays[0] <= timedelta(milliseconds=100)
    assert timedelta(milliseconds=100) <= delays[1] <= timedelta(milliseconds=200)


def test_insufficient_funds_fails_at_once_with_an_alert_and_releases(app: SettlementApp) -> None:
    w = World(app)
    w.channels.faults = [InsufficientFunds("0xabc", "gas")]
    assert w.run() is Progress.FINISHED
    failed = app.history(w.settlement_id)[-1]
    assert type(failed).__name__ == "Failed" and failed.alert is True
    assert failed.error_class == "InsufficientFunds"
    assert (w.account.payable, w.account.in_flight) == (1500, 0)


def test_exhausted_retries_dead_letter_and_release_before_any_proof(app: SettlementApp) -> None:
    w = World(app)
    w.channels.faults = [RpcUnavailable("rpc", "down")] * 1000
    assert w.run(limit=1000) is Progress.FINISHED
    assert w.settlement.status == SettlementStatus.DEAD_LETTERED
    assert "attempts exhausted over 0:05:" in (w.settlement.last_error or "")
    assert (w.account.payable, w.account.in_flight) == (1500, 0)


def test_dead_letter_after_a_signed_proof_keeps_the_amount_in_flight(app: SettlementApp) -> None:
    w = World(app)
    w.claims.faults = [DeliveryRefused(True, "peer down")] * 1000
    assert w.run(limit=1000) is Progress.FINISHED
    assert w.settlement.status == SettlementStatus.DEAD_LETTERED
    assert w.settlement.has_signed_proof
    assert (w.account.payable, w.account.in_flight) == (100, 1400)


def test_channel_closed_under_us_is_forgotten_and_a_new_one_used(app: SettlementApp) -> None:
    w = World(app)
    w.claims.faults = [ChannelDisputed("ChannelNotOpen", {"channelId": 1, "state": 2})]
    assert w.run() is Progress.FINISHED
    assert w.settlement.status == SettlementStatus.COMPLETED
    assert len(w.channels.abandoned) == 1 and len(w.channels.opened) == 2
    names = events_of(app, w.settlement_id)
    assert "ChannelLost" in names and names[-1] == "Completed"
    [(channel_id, nonce, transferred)] = w.claims.delivered
    assert channel_id == w.channels.opened[1] and (nonce, transferred) == (1, 1400)


def test_non_retryable_delivery_refusal_dead_letters_without_release(app: SettlementApp) -> None:
    w = World(app)
    w.claims.faults = [DeliveryRefused(False, "stale_proof")]
    assert w.run() is Progress.FINISHED
    assert w.settlement.status == SettlementStatus.DEAD_LETTERED
    assert w.account.in_flight == 1400


def test_waits_for_the_next_attempt_time(app: SettlementApp) -> None:
    w = World(app)
    w.channels.faults = [RpcUnavailable("rpc", "down")]
    assert w.steps.step(w.settlement_id) is Progress.ADVANCED
    assert w.steps.step(w.settlement_id) is Progress.WAITING
    w.clock.advance(timedelta(seconds=1))
    assert w.steps.step(w.settlement_id) is Progress.ADVANCED
    assert w.settlement.status == SettlementStatus.CHANNEL_READY


def test_time_out_of_a_stuck_settlement_releases_its_reservation(app: SettlementApp) -> None:
    w = World(app)
    w.steps.step(w.settlement_id)
    w.steps.time_out(w.settlement_id)
    assert w.settlement.status == SettlementStatus.TIMED_OUT
    assert (w.account.payable, w.account.in_flight) == (1500, 0)


def test_a_peer_asking_to_retry_later_is_waited_for_beyond_the_attempts(
    app: SettlementApp,
) -> None:
    class NotYet(Exception):
        retryable = True
        error = "retry_later"

    w = World(app)
    w.claims.faults = [NotYet("receivable not recorded yet")] * 6
    assert w.run() is Progress.FINISHED
    assert w.settlement.status == SettlementStatus.COMPLETED
    assert w.settlement.attempts == 6


def test_patience_with_a_lagging_peer_has_a_limit(app: SettlementApp) -> None:
    class NotYet(Exception):
        retryable = True
        error = "retry_later"

    w = World(app)
    w.claims.faults = [NotYet("never catches up")] * 100
    w.clock.advance(timedelta(minutes=6))  # past the policy's patience (5 minutes)
    assert w.run() is Progress.FINISHED
    assert w.settlement.status == SettlementStatus.DEAD_LETTERED
