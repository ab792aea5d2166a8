from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import IllegalTransition, InvalidAmount, InvalidField
from domain.ids import derive_id
from domain.settlement import Settlement, SettlementStatus

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def settlement() -> Settlement:
    return Settlement.request("k1", derive_id("peer-account", "alice"), "alice", "USD", 500, T0)


def test_happy_path_records_every_transition_with_its_time() -> None:
    s = settlement()
    channel_id = derive_id("channel", "c")
    s.channel_ready(channel_id, "0xdeposit", T0 + timedelta(seconds=1))
    s.proof_signed(3, 1500, "0xsig", T0 + timedelta(seconds=2))
    s.delivered("receipt-1", T0 + timedelta(seconds=3))
    s.applied(T0 + timedelta(seconds=4))
    s.complete(T0 + timedelta(seconds=5))
    assert s.status == SettlementStatus.COMPLETED and s.is_terminal
    events = s.collect_events()
    assert [type(e).__name__ for e in events] == [
        "Requested",
        "ChannelReady",
        "ProofSigned",
        "Delivered",
        "Applied",
        "Completed",
    ]
    assert [e.at for e in events] == [T0 + timedelta(seconds=n) for n in range(6)]
    assert events[1].tx_hash == "0xdeposit" and events[2].nonce == 3


def test_steps_cannot_be_skipped() -> None:
    s = settlement()
    with pytest.raises(IllegalTransition) as raised:
        s.delivered("r", T0)
    assert raised.value.state == "requested"


@pytest.mark.parametrize("finish", ["complete", "fail", "time_out", "dead_letter"])
def test_terminal_states_are_final(finish: str) -> None:
    s = settlement()
    if finish == "complete":
        s.channel_ready(derive_id("channel", "c"), None, T0)
        s.proof_signed(1, 500, "0xsig", T0)
        s.delivered("r", T0)
        s.applied(T0)
        s.complete(T0)
    elif finish == "time_out":
        s.time_out(T0)
    else:
        getattr(s, finish)("reason", T0)
    s.collect_events()
    with pytest.raises(IllegalTransition):
        s.attempt_failed("RpcUnavailable", "down", True, T0, T0)
    with pytest.raises(IllegalTransition):
        s.fail("again", T0)
    assert s.collect_events() == []


def test_attempt_failures_count_and_carry_the_next_attempt_time() -> None:
    s = settlement()
    s.attempt_failed("RpcUnavailable", "timeout", True, T0 + timedelta(seconds=1), T0)
    s.attempt_failed("RpcUnavailable", "timeout", True, T0 + timedelta(seconds=3), T0)
    assert s.attempts == 2 and s.next_attempt_at == T0 + timedelta(seconds=3)
    assert s.status == SettlementStatus.REQUESTED
    with pytest.raises(InvalidField, match="next_attempt_at"):
        s.attempt_failed("RpcUnavailable", "timeout", True, None, T0)


def test_request_rejects_naive_time_and_bad_amount() -> None:
    with pytest.raises(InvalidField, match="at"):
        Settlement.request("k", derive_id("x"), "alice", "USD", 5, datetime(2026, 1, 1))
    with pytest.raises(InvalidAmount, match="amount"):
        Settlement.request("k", derive_id("x"), "alice", "USD", 0, T0)


def test_routing_decision_is_recorded_with_its_scores_before_a_channel_is_ready() -> None:
    s = settlement()
    decision = {"chosen": "base", "ranked": [{"rail": "base", "score": 0.9}]}
    s.choose_rail("base", decision, T0)
    assert s.rail == "base"
    s.channel_ready(derive_id("channel", "c"), None, T0)
    with pytest.raises(IllegalTransition):
        s.choose_rail("other", decision, T0)
    events = s.collect_events()
    assert events[1].decision == decision


def test_lost_channel_sends_the_settlement_back_to_requested_before_delivery() -> None:
    s = settlement()
    s.channel_ready(derive_id("channel", "c"), None, T0)
    s.proof_signed(1, 500, "0xsig", T0)
    s.channel_lost("channel closed on chain", T0)
    assert s.status == SettlementStatus.REQUESTED and not s.has_signed_proof
    s.channel_ready(derive_id("channel", "d"), None, T0)
    s.proof_signed(1, 500, "0xsig2", T0)
    s.delivered("r", T0)
    with pytest.raises(IllegalTransition):
        s.channel_lost("too late", T0)


def test_dead_letter_with_a_signed_proof_cannot_be_discarded_only_redelivered() -> None:
    s = settlement()
    s.channel_ready(derive_id("channel", "c"), None, T0)
    s.proof_signed(1, 500, "0xsig", T0)
    s.dead_letter("delivery retries exhausted", T0)
    with pytest.raises(IllegalTransition, match="signed proof"):
        s.resolve_dead_letter("discarded", None, T0)
    s.resolve_dead_letter("redelivered", None, T0)
    assert s.status == SettlementStatus.DEAD_LETTERED and s.resolution == "redelivered"
    with pytest.raises(IllegalTransition, match="resolved"):
        s.resolve_dead_letter("retried", None, T0)


def test_only_dead_letters_can_be_resolved() -> None:
    s = settlement()
    with pytest.raises(IllegalTransition):
        s.resolve_dead_letter("discarded", None, T0)
    s.dead_letter("exhausted", T0)
    with pytest.raises(InvalidField, match="resolution"):
        s.resolve_dead_letter("forgotten", None, T0)
    s.resolve_dead_letter("discarded", None, T0)
