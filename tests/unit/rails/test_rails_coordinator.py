"""The rail coordinator: ranking, breakers skipping rails, fallback order and decision records."""

import json
from datetime import timedelta
from typing import Any

import pytest

from application.clock import ManualClock
from application.rails import (
    BreakerState,
    InvalidLatency,
    RailConfig,
    RailCoordinator,
    RailNotInDecision,
    RailsSettings,
    UnknownRail,
)

COOLDOWN = timedelta(seconds=30)


def rail(name: str, cost: int = 1_000, latency_ms: int = 1_000, **extra: Any) -> RailConfig:
    values: dict[str, Any] = {
        "name": name,
        "chain_id": 31337 + sum(map(ord, name)),
        "token_network": "0x" + format(sum(map(ord, name)), "040x"),
        "estimated_cost": cost,
        "estimated_latency_ms": latency_ms,
    }
    values.update(extra)
    return RailConfig.model_validate(values)


def coordinator(clock: ManualClock, *rails: RailConfig, **policy: Any) -> RailCoordinator:
    settings = RailsSettings(rails=list(rails), cooldown_seconds=30, **policy)
    return RailCoordinator(settings, clock)


def trip(subject: RailCoordinator, name: str) -> None:
    for _ in range(5):
        subject.record_outcome(name, success=False)
    assert subject.breaker_state(name) is BreakerState.OPEN


def order(subject: RailCoordinator, candidates: list[str] | None = None) -> list[str]:
    return [score.rail for score in subject.rank(candidates).ranked]


def test_cheaper_rail_ranks_first_when_all_else_is_equal() -> None:
    subject = coordinator(ManualClock(), rail("dear", cost=3_000), rail("cheap", cost=1_000))

    decision = subject.rank()

    assert decision.chosen == "cheap"
    assert [s.rail for s in decision.ranked] == ["cheap", "dear"]
    assert decision.ranked[1].cost_score == pytest.approx(1 / 3)
    assert decision.ranked[0].score > decision.ranked[1].score


def test_faster_rail_ranks_first_when_all_else_is_equal() -> None:
    subject = coordinator(ManualClock(), rail("slow", latency_ms=4_000), rail("fast"))

    assert order(subject) == ["fast", "slow"]


def test_recent_failures_lower_a_rail_below_a_reliable_one() -> None:
    subject = coordinator(ManualClock(), rail("a"), rail("b"), failure_threshold=0.5)
    for success in [True, True, False, True]:
        subject.record_outcome("a", success)
    subject.record_outcome("b", True)

    decision = subject.rank()

    assert decision.chosen == "b"
    assert decision.ranked[1].success_rate == pytest.approx(0.75)


def test_score_is_the_documented_weighted_mean() -> None:
    subject = coordinator(
        ManualClock(),
        rail("a", cost=2_000, latency_ms=1_000),
        rail("b", cost=1_000, latency_ms=4_000),
        weights={"cost": 1.0, "latency": 3.0, "success": 0.0},
    )

    scores = {s.rail: s.score for s in subject.rank().ranked}

    assert scores["a"] == pytest.approx((1 * 0.5 + 3 * 1.0) / 4)
    assert scores["b"] == pytest.approx((1 * 1.0 + 3 * 0.25) / 4)


def test_equal_scores_are_ordered_by_name() -> None:
    subject = coordinator(ManualClock(), rail("zulu"), rail("alpha"), rail("mike"))

    assert order(subject) == ["alpha", "mike", "zulu"]


def test_measured_latency_moves_the_estimate_and_the_ranking() -> None:
    subject = coordinator(ManualClock(), rail("a"), rail("b", latency_ms=1_100))
    assert order(subject) == ["a", "b"]

    subject.record_outcome("a", True, latency_ms=3_000)

    assert subject.latency_estimate_ms("a") == pytest.approx(0.2 * 3_000 + 0.8 * 1_000)
    assert order(subject) == ["b", "a"]


def test_a_rail_with_an_open_breaker_is_skipped_and_the_next_chosen() -> None:
    subject = coordinator(ManualClock(), rail("cheap", cost=1), rail("dear", cost=9))
    trip(subject, "cheap")

    decision = subject.rank()

    assert decision.chosen == "dear"
    assert [s.rail for s in decision.ranked] == ["dear"]
    assert decision.skipped == {"cheap": "circuit open"}


def test_after_the_cooldown_the_broken_rail_gets_its_probe_first_then_is_skipped() -> None:
    clock = ManualClock()
    subject = coordinator(clock, rail("cheap", cost=1), rail("dear", cost=9))
    trip(subject, "cheap")
    clock.advance(COOLDOWN)

    probing = subject.rank()
    assert probing.chosen == "cheap"
    assert probing.ranked[0].probe is True

    while_probing = subject.rank()
    assert while_probing.chosen == "dear"
    assert while_probing.skipped == {"cheap": "probe in flight"}


def test_a_successful_probe_restores_the_rail() -> None:
    clock = ManualClock()
    subject = coordinator(clock, rail("cheap", cost=1), rail("dear", cost=9))
    trip(subject, "cheap")
    clock.advance(COOLDOWN)
    assert subject.rank().chosen == "cheap"

    subject.record_outcome("cheap", True)

    assert subject.breaker_state("cheap") is BreakerState.CLOSED
    assert subject.rank().chosen == "cheap"


def test_a_failed_probe_keeps_the_rail_out_for_another_cooldown() -> None:
    clock = ManualClock()
    subject = coordinator(clock, rail("cheap", cost=1), rail("dear", cost=9))
    trip(subject, "cheap")
    clock.advance(COOLDOWN)
    assert subject.rank().chosen == "cheap"

    subject.record_outcome("cheap", False)

    assert subject.rank().skipped == {"cheap": "circuit open"}


def test_fallback_follows_the_ranking() -> None:
    subject = coordinator(ManualClock(), rail("c", cost=3), rail("a", cost=1), rail("b", cost=2))
    decision = subject.rank()
    assert decision.chosen == "a"

    subject.record_outcome("a", False)
    assert subject.next_after(decision, "a") == "b"
    subject.record_outcome("b", False)
    assert subject.next_after(decision, "b") == "c"
    subject.record_outcome("c", False)
    assert subject.next_after(decision, "c") is None


def test_fallback_passes_over_a_rail_broken_or_disabled_since_the_decision() -> None:
    subject = coordinator(
        ManualClock(), rail("a", cost=1), rail("b", cost=2), rail("c", cost=3), rail("d", cost=4)
    )
    decision = subject.rank()
    trip(subject, "b")
    subject.replace_rail(rail("c", cost=3, enabled=False))

    assert subject.next_after(decision, "a") == "d"


def test_fallback_after_a_rail_not_in_the_ranking_is_refused() -> None:
    subject = coordinator(ManualClock(), rail("a"), rail("b", enabled=False))
    decision = subject.rank()

    with pytest.raises(RailNotInDecision) as raised:
        subject.next_after(decision, "b")

    assert raised.value.rail == "b"
    assert raised.value.ranked == ["a"]


def test_disabled_and_undeployed_and_unknown_rails_are_skipped_with_reasons() -> None:
    subject = coordinator(
        ManualClock(), rail("on"), rail("off", enabled=False), rail("new", token_network=None)
    )

    decision = subject.rank(["off", "ghost", "new", "on"])

    assert decision.chosen == "on"
    assert decision.skipped == {
        "off": "disabled",
        "ghost": "not configured",
        "new": "no token network",
    }


def test_candidates_limit_the_ranking() -> None:
    subject = coordinator(ManualClock(), rail("a", cost=1), rail("b", cost=2), rail("c", cost=3))

    assert order(subject, ["c", "b", "c"]) == ["b", "c"]


def test_no_rail_available_chooses_none_and_says_why() -> None:
    subject = coordinator(ManualClock(), rail("a"), rail("b", enabled=False))
    trip(subject, "a")

    decision = subject.rank()

    assert decision.chosen is None
    assert decision.ranked == []
    assert decision.skipped == {"a": "circuit open", "b": "disabled"}


def test_no_rails_configured_chooses_none() -> None:
    decision = coordinator(ManualClock()).rank()

    assert decision.chosen is None
    assert decision.skipped == {}


def test_replacing_a_rail_sets_its_token_network_after_deployment() -> None:
    subject = coordinator(ManualClock(), rail("a", token_network=None))
    assert subject.rank().chosen is None

    subject.replace_rail(rail("a"))

    assert subject.rank().chosen == "a"


def test_the_decision_record_is_json_safe_with_scores_rounded() -> None:
    clock = ManualClock()
    subject = coordinator(
        clock, rail("a", cost=3), rail("b", cost=2**100), rail("x", enabled=False)
    )

    record = subject.rank().as_record()

    assert json.loads(json.dumps(record)) == record
    assert record["at"] == clock.now.isoformat()
    assert record["chosen"] == "a"
    assert record["skipped"] == {"x": "disabled"}
    ranked = record["ranked"]
    assert isinstance(ranked, list)
    assert ranked[1]["rail"] == "b"
    assert ranked[1]["cost"] == 2**100
    assert ranked[1]["cost_score"] == round(3 / 2**100, 6)
    assert ranked[0]["score"] == 1.0
    assert ranked[1]["score"] == round((1 * 3 / 2**100 + 1 + 2) / 4, 6)


def test_outcomes_for_unknown_rails_and_negative_latencies_are_refused() -> None:
    subject = coordinator(ManualClock(), rail("a"))

    with pytest.raises(UnknownRail) as unknown:
        subject.record_outcome("ghost", True)
    assert unknown.value.rail == "ghost"
    with pytest.raises(InvalidLatency) as negative:
        subject.record_outcome("a", True, latency_ms=-1)
    assert negative.value.latency_ms == -1
    assert subject.latency_estimate_ms("a") == 1_000
