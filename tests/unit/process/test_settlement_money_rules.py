"""The money rules, enforced by the aggregates and decided on the state being saved: a promised
amount (a signed proof is out) is never released, and nothing is done twice for one settlement."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from eventsourcing.utils import resolve_topic

from application.app import SettlementApp
from application.commands.settlements import FailureOutcome
from application.processes.ports import FailureFacts
from application.processes.settlement_steps import Progress
from domain.errors import IllegalTransition, SettlementIdReused, UnknownSettlement
from domain.peer_account import Direction, PacketEntry
from domain.settlement import Settlement, SettlementStatus
from tests.unit.process.test_settlement_steps import World

REFUSED = FailureFacts("DeliveryRefused", "stale_proof", False, False, False)


@pytest.fixture
def app() -> Iterator[SettlementApp]:
    ledger = SettlementApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield ledger
    ledger.close()


def step_to(w: World, status: SettlementStatus) -> None:
    while w.settlement.status != status:
        assert w.steps.step(w.settlement_id) is Progress.ADVANCED


def test_a_losing_executor_cannot_fail_a_settlement_whose_proof_is_out(app: SettlementApp) -> None:
    """The reported bug: executor B, on a view from before A signed, recorded Failed after
    ProofSigned; the amount went back to payable and the next proof paid it twice."""
    w = World(app)
    step_to(w, SettlementStatus.CHANNEL_READY)
    seen_by_b = w.settlement
    step_to(w, SettlementStatus.PROOF_SIGNED)  # executor A signs
    w.steps._record_failure(seen_by_b, IllegalTransition("Settlement", w.settlement_id, "x", "y"))
    assert (w.settlement.status, w.account.payable, w.account.in_flight) == (
        SettlementStatus.PROOF_SIGNED,
        100,
        1400,
    )
    assert w.run() is Progress.FINISHED
    assert w.settlement.status == SettlementStatus.COMPLETED
    # The next settlement's cumulative proof adds only its own amount.
    app.record_packets("bob", "USD", "b2", [PacketEntry("p2", Direction.OUTGOING, 1000)])
    w.settlement_id = app.request_settlement("s2", w.account_id, 1000, w.clock())
    assert w.run() is Progress.FINISHED
    assert [t for _, _, t in w.claims.delivered] == [1400, 2400]
    assert (w.account.payable, w.account.in_flight) == (100, 0)


def test_a_non_retryable_failure_after_the_proof_dead_letters_and_keeps_it_in_flight(
    app: SettlementApp,
) -> None:
    w = World(app)
    step_to(w, SettlementStatus.PROOF_SIGNED)
    outcome = app.record_settlement_failure(
        w.settlement_id,
        SettlementStatus.PROOF_SIGNED,
        REFUSED,
        w.steps.policy,
        w.steps.rng,
        w.clock(),
    )
    assert outcome is FailureOutcome.DEAD_LETTERED
    assert w.account.settlement_state(w.settlement_id) == "promised"
    assert (w.account.payable, w.account.in_flight) == (100, 1400)


def test_a_failure_seen_on_an_older_status_records_nothing(app: SettlementApp) -> None:
    w = World(app)
    step_to(w, SettlementStatus.CHANNEL_READY)
    before = len(app.history(w.settlement_id))
    outcome = app.record_settlement_failure(
        w.settlement_id, SettlementStatus.REQUESTED, REFUSED, w.steps.policy, w.steps.rng, w.clock()
    )
    assert outcome is FailureOutcome.STALE and len(app.history(w.settlement_id)) == before


def test_the_settlement_refuses_to_fail_or_time_out_with_a_proof_out(app: SettlementApp) -> None:
    w = World(app)
    step_to(w, SettlementStatus.PROOF_SIGNED)
    s = w.settlement
    with pytest.raises(IllegalTransition, match="signed proof out"):
        s.fail("x", w.clock())
    with pytest.raises(IllegalTransition, match="signed proof out"):
        s.time_out(w.clock())
    s.dead_letter("peer gone", w.clock())
    for resolution in ("retried", "discarded"):
        with pytest.raises(IllegalTransition, match="signed proof out"):
            s.resolve_dead_letter(resolution, None, w.clock())


def test_the_account_refuses_to_release_a_promised_amount(app: SettlementApp) -> None:
    w = World(app)
    step_to(w, SettlementStatus.PROOF_SIGNED)
    account = w.account
    with pytest.raises(UnknownSettlement, match="promised"):
        account.release(w.settlement_id)
    account.promise(w.settlement_id)  # again: nothing new
    assert account.collect_events() == []
    account.apply(w.settlement_id)
    assert account.in_flight == 0


def test_a_second_reservation_channel_or_proof_is_refused(app: SettlementApp) -> None:
    w = World(app)
    step_to(w, SettlementStatus.PROOF_SIGNED)
    s, account = w.settlement, w.account
    with pytest.raises(SettlementIdReused):
        account.reserve(w.settlement_id, 1)
    with pytest.raises(IllegalTransition):
        s.channel_ready(s.channel_id, None, w.clock())  # type: ignore[arg-type]
    with pytest.raises(IllegalTransition):
        s.proof_signed(2, 2800, "0xsig", w.clock())
    app.reserve_settlement(w.settlement_id)  # the use case: once only, a repeat changes nothing
    assert w.account.in_flight == 1400


def test_a_proof_signed_on_an_older_view_of_the_channel_is_not_recorded(
    app: SettlementApp,
) -> None:
    w = World(app)
    step_to(w, SettlementStatus.CHANNEL_READY)
    before = len(app.history(w.settlement_id))
    with pytest.raises(IllegalTransition, match="record proof"):
        app.record_proof_signed(w.settlement_id, 1400, (1, 999), "0xsig", w.clock())
    assert len(app.history(w.settlement_id)) == before
    assert w.account.settlement_state(w.settlement_id) == "reserved"


def test_a_stuck_settlement_with_a_proof_out_is_dead_lettered_not_timed_out(
    app: SettlementApp,
) -> None:
    w = World(app)
    step_to(w, SettlementStatus.PROOF_SIGNED)
    w.clock.advance(timedelta(hours=1))
    w.steps.time_out(w.settlement_id)
    assert w.settlement.status == SettlementStatus.DEAD_LETTERED
    assert w.account.in_flight == 1400


def test_histories_with_the_old_event_name_load_as_applied() -> None:
    assert resolve_topic("domain.settlement:Settlement.LedgerPosted") is Settlement.Applied
