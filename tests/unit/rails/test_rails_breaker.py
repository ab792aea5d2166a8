"""The circuit breaker: opens above the threshold over the window, probes after the cool-down."""

from datetime import timedelta

import pytest

from application.clock import ManualClock
from application.rails import BreakerState, CircuitBreaker, InvalidBreakerSetting

COOLDOWN = timedelta(seconds=30)


def breaker(clock: ManualClock, window: int = 20, min_outcomes: int = 5) -> CircuitBreaker:
    return CircuitBreaker(window, 0.10, min_outcomes, COOLDOWN, clock)


def state(breaker: CircuitBreaker) -> BreakerState:
    """Read through a call so the type checker does not narrow the property between reads."""
    return breaker.state


def record(breaker: CircuitBreaker, successes: int, failures: int) -> None:
    for _ in range(successes):
        breaker.record(True)
    for _ in range(failures):
        breaker.record(False)


def opened(clock: ManualClock) -> CircuitBreaker:
    subject = breaker(clock)
    record(subject, 17, 3)
    assert state(subject) is BreakerState.OPEN
    return subject


def test_two_failures_in_twenty_is_ten_percent_and_stays_closed() -> None:
    subject = breaker(ManualClock())
    record(subject, 18, 2)

    assert subject.failure_rate() == pytest.approx(0.10)
    assert state(subject) is BreakerState.CLOSED
    assert subject.allow() is True


def test_three_failures_in_twenty_opens() -> None:
    subject = breaker(ManualClock())
    record(subject, 17, 3)

    assert state(subject) is BreakerState.OPEN
    assert subject.allow() is False


def test_the_window_slides_so_old_failures_drop_out() -> None:
    subject = breaker(ManualClock())
    record(subject, 18, 2)  # window: 18 S, 2 F
    record(subject, 2, 0)  # the two oldest successes leave: still 2 F in 20
    assert state(subject) is BreakerState.CLOSED
    subject.record(False)  # the oldest success leaves: 3 F in 20

    assert subject.outcomes().count(False) == 3
    assert len(subject.outcomes()) == 20
    assert state(subject) is BreakerState.OPEN


def test_failures_that_slid_out_of_the_window_do_not_count() -> None:
    subject = breaker(ManualClock())
    record(subject, 18, 2)
    record(subject, 20, 0)  # both failures slide out
    record(subject, 0, 2)

    assert subject.outcomes().count(False) == 2
    assert state(subject) is BreakerState.CLOSED


def test_fewer_than_min_outcomes_never_open() -> None:
    subject = breaker(ManualClock())
    record(subject, 0, 4)

    assert subject.failure_rate() == 1.0
    assert state(subject) is BreakerState.CLOSED
    subject.record(False)
    assert state(subject) is BreakerState.OPEN


def test_open_breaker_refuses_until_the_cooldown_has_passed() -> None:
    clock = ManualClock()
    subject = opened(clock)

    clock.advance(COOLDOWN - timedelta(microseconds=1))
    assert subject.allow() is False
    assert state(subject) is BreakerState.OPEN
    clock.advance(timedelta(microseconds=1))
    assert state(subject) is BreakerState.HALF_OPEN
    assert subject.allow() is True


def test_half_open_allows_exactly_one_probe_at_a_time() -> None:
    clock = ManualClock()
    subject = opened(clock)
    clock.advance(COOLDOWN)

    assert subject.available() is True
    assert subject.allow() is True
    assert subject.available() is False
    assert subject.allow() is False
    clock.advance(COOLDOWN / 2)
    assert subject.allow() is False


def test_available_does_not_take_the_probe() -> None:
    clock = ManualClock()
    subject = opened(clock)
    clock.advance(COOLDOWN)

    assert subject.available() is True
    assert subject.available() is True
    assert subject.allow() is True


def test_a_successful_probe_closes_and_clears_the_window() -> None:
    clock = ManualClock()
    subject = opened(clock)
    clock.advance(COOLDOWN)
    assert subject.allow() is True

    subject.record(True)

    assert state(subject) is BreakerState.CLOSED
    assert subject.outcomes() == ()
    assert subject.opened_at is None
    assert subject.allow() is True
    assert subject.allow() is True


def test_a_failed_probe_reopens_with_a_new_cooldown() -> None:
    clock = ManualClock()
    subject = opened(clock)
    clock.advance(COOLDOWN)
    assert subject.allow() is True
    clock.advance(timedelta(seconds=5))

    subject.record(False)

    assert state(subject) is BreakerState.OPEN
    assert subject.opened_at == clock.now
    clock.advance(COOLDOWN - timedelta(seconds=1))
    assert subject.allow() is False
    clock.advance(timedelta(seconds=1))
    assert subject.allow() is True


def test_a_probe_that_never_reports_is_presumed_lost_after_another_cooldown() -> None:
    clock = ManualClock()
    subject = opened(clock)
    clock.advance(COOLDOWN)
    assert subject.allow() is True

    clock.advance(COOLDOWN - timedelta(seconds=1))
    assert subject.allow() is False
    clock.advance(timedelta(seconds=1))
    assert subject.allow() is True
    assert subject.allow() is False


def test_late_outcomes_while_open_change_no_state() -> None:
    clock = ManualClock()
    subject = opened(clock)
    opened_at = subject.opened_at

    record(subject, 20, 0)
    assert state(subject) is BreakerState.OPEN
    clock.advance(timedelta(seconds=10))
    subject.record(False)

    assert subject.opened_at == opened_at
    clock.advance(timedelta(seconds=20))
    assert subject.allow() is True


def test_success_rate_is_one_with_no_outcomes() -> None:
    subject = breaker(ManualClock())
    assert subject.success_rate() == 1.0
    record(subject, 3, 1)
    assert subject.success_rate() == pytest.approx(0.75)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"window": 0}, "window"),
        ({"failure_threshold": 1.5}, "failure_threshold"),
        ({"min_outcomes": 21}, "min_outcomes"),
        ({"cooldown": timedelta(0)}, "cooldown"),
    ],
)
def test_bad_breaker_settings_are_named(arguments: dict[str, object], field: str) -> None:
    values: dict[str, object] = {"window": 20, "failure_threshold": 0.1, "min_outcomes": 5}
    values.update(cooldown=COOLDOWN, clock=ManualClock())
    values.update(arguments)
    with pytest.raises(InvalidBreakerSetting) as raised:
        CircuitBreaker(**values)  # type: ignore[arg-type]

    assert raised.value.field == field
