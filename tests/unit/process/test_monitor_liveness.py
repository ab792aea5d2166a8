"""Liveness of settlement: packets, completions, failures, dead letters and restarts in any order,
and a peer owed at least its threshold with nothing in flight always gets a settlement."""

from __future__ import annotations

import random
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from adapters.evm.errors import InsufficientFunds
from application.app import SettlementApp
from application.clock import ManualClock
from application.processes.retry_policy import RetryPolicy
from application.processes.settlement_monitor import SettlementMonitor
from application.processes.settlement_steps import Progress, SettlementSteps
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry, PeerAccount
from domain.settlement import Settlement
from projections.runner import PositionedEvent
from tests.support.process_edges import ChannelEdge, ClaimEdge, DeliveryRefused, RailsEdge


class Liveness(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.TemporaryDirectory()
        self.clock = ManualClock()
        self.position = 0  # the monitor's tracking position, kept across restarts
        self.packets = 0
        self._open()
        self.account_id = self.app.open_peer_account("bob", Asset("USD", 2), 1000, 100, 10**9)

    def _open(self) -> None:
        db = str(Path(self.dir.name) / "events.sqlite")
        env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": db}
        self.app = SettlementApp(env=env)
        self.channels, self.claims = ChannelEdge(self.app), ClaimEdge()
        policy = RetryPolicy(timedelta(seconds=1), timedelta(seconds=1), timedelta(minutes=1))
        self.steps: SettlementSteps[Any] = SettlementSteps(
            self.app, self.channels, self.claims, RailsEdge(), None, policy, self.clock,
            random.Random(1),
        )  # fmt: skip
        self.monitor = SettlementMonitor(self.app, self.clock)

    def _follow(self) -> None:
        """The monitor follows the log from its tracking position (as its runner would)."""
        notifications = self.app.recorder.select_notifications(start=self.position + 1, limit=500)
        events = [
            PositionedEvent(n.id, self.app.mapper.to_domain_event(n), n.topic)
            for n in notifications
        ]
        self.monitor.apply(None, events)  # type: ignore[arg-type]
        if notifications:
            self.position = notifications[-1].id

    def _active(self) -> list[Any]:
        account = self.app.load(self.account_id, PeerAccount)
        return [UUID(hex=h) for h, (_, state) in account.settlements.items() if state == "reserved"]

    @rule(amount=st.integers(1, 900))
    def packets_arrive(self, amount: int) -> None:
        self.packets += 1
        entry = PacketEntry(f"p{self.packets}", Direction.OUTGOING, amount)
        self.app.record_packets("bob", "USD", f"b{self.packets}", [entry])
        self._follow()

    @precondition(lambda self: bool(self._active()))
    @rule(outcome=st.sampled_from(["complete", "fail", "dead_letter_before", "dead_letter_after"]))
    def drive_the_active_settlement(self, outcome: str) -> None:
        [sid] = self._active()
        if outcome == "fail":
            self.channels.faults = [InsufficientFunds("0xabc", "gas")]
        elif outcome == "dead_letter_after":
            self.claims.faults = [DeliveryRefused(False, "stale_proof")]
        for _ in range(20):
            if outcome == "dead_letter_before":
                self.app.time_out_settlement(sid, self.clock())
            progress = self.steps.step(sid)
            self.clock.advance(timedelta(seconds=2))
            if progress is Progress.FINISHED:
                break
        self.channels.faults, self.claims.faults = [], []
        settlement = self.app.load(sid, Settlement)
        if settlement.status == "dead_lettered" and settlement.has_signed_proof:
            self.app.redeliver_dead_letter(sid, self.clock())  # the operator redelivers it
        self._follow()

    @rule(replay=st.integers(0, 5))
    def restart(self, replay: int) -> None:
        """A crash: the app and monitor are rebuilt from the store; the tracking position may
        lag (events processed again after a crash before the tracking row was written)."""
        self.app.close()
        self._open()
        self.position = max(self.position - replay, 0)
        self._follow()

    @invariant()
    def a_due_peer_always_has_a_settlement(self) -> None:
        self._follow()
        account = self.app.load(self.account_id, PeerAccount)
        assert not account.settlement_due
        assert len(self._active()) <= 1
        assert account.in_flight == sum(
            a for a, state in account.settlements.values() if state in ("reserved", "promised")
        )

    def teardown(self) -> None:
        self.app.close()
        self.dir.cleanup()


Liveness.TestCase.settings = settings(max_examples=25, stateful_step_count=20, deadline=None)
TestLiveness = Liveness.TestCase
