"""`RailCoordinator.standing`: the operator's view of the rails scores them as `rank()` would and
changes nothing (a half-open rail's single probe stays for the next settlement)."""

from datetime import timedelta
from typing import Any

from application.clock import ManualClock
from application.rails import BreakerState, RailConfig, RailCoordinator, RailsSettings


def rail(name: str, cost: int = 1_000, **extra: Any) -> RailConfig:
    number = sum(map(ord, name))
    values = {"name": name, "chain_id": 31337, "token_network": "0x" + format(number, "040x")}
    latency = {"estimated_latency_ms": 1_000}
    return RailConfig.model_validate({**values, "estimated_cost": cost, **latency, **extra})


def trip(subject: RailCoordinator, name: str) -> None:
    for _ in range(5):
        subject.record_outcome(name, success=False)


def test_standing_scores_like_rank_and_says_why_a_rail_is_out() -> None:
    clock = ManualClock()
    settings = RailsSettings(
        rails=[rail("cheap", cost=1_000), rail("dear", cost=3_000), rail("off", enabled=False)],
        cooldown_seconds=30,
    )
    subject = RailCoordinator(settings, clock)

    standing = subject.standing()

    assert standing.chosen is None and standing.candidates == ["cheap", "dear", "off"]
    assert [s.as_record() for s in standing.ranked] == [
        s.as_record() for s in subject.rank().ranked
    ]
    assert standing.skipped == {"off": "disabled"}


def test_looking_at_a_half_open_rail_leaves_its_probe_to_the_next_settlement() -> None:
    clock = ManualClock()
    subject = RailCoordinator(RailsSettings(rails=[rail("a")], cooldown_seconds=30), clock)
    trip(subject, "a")
    assert subject.standing().skipped == {"a": "circuit open"}
    clock.advance(timedelta(seconds=31))

    for _ in range(3):
        standing = subject.standing()
        assert [s.rail for s in standing.ranked] == ["a"] and standing.ranked[0].probe

    assert subject.breaker_state("a") is BreakerState.HALF_OPEN
    assert subject.rank().chosen == "a"  # the probe was still there to take
    assert subject.standing().skipped == {"a": "probe in flight"}
