"""Property tests: an open breaker admits no call before its cool-down; half-open, one probe."""

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from application.clock import ManualClock
from application.rails import BreakerState, CircuitBreaker

COOLDOWN = timedelta(seconds=30)

# Failures are drawn more often than successes so breakers open; advances cluster around the
# cool-down's edges, where a wrong comparison would show.
step = st.one_of(
    st.tuples(st.just("record"), st.sampled_from([False, False, True])),
    st.tuples(st.just("allow"), st.just(True)),
    st.tuples(st.just("advance"), st.sampled_from([0, 1, 15, 29, 30, 31])),
)
policy = st.tuples(
    st.integers(min_value=1, max_value=20),  # window
    st.sampled_from([0.0, 0.1, 0.25, 0.5]),  # failure threshold
    st.integers(min_value=1, max_value=5),  # min outcomes (capped at window below)
)


def new_breaker(clock: ManualClock, window: int, threshold: float, minimum: int) -> CircuitBreaker:
    return CircuitBreaker(window, threshold, min(minimum, window), COOLDOWN, clock)


@settings(max_examples=400, deadline=None)
@given(policy=policy, steps=st.lists(step, min_size=10, max_size=80))
def test_no_call_is_allowed_while_open_before_the_cooldown(
    policy: tuple[int, float, int], steps: list[tuple[str, object]]
) -> None:
    # When the breaker must stay shut is worked out from what the test saw: it opened from
    # CLOSED, or a probe the test was granted failed.
    clock = ManualClock()
    breaker = new_breaker(clock, *policy)
    open_until: datetime | None = None
    probe_granted = False
    for action, argument in steps:
        if action == "record":
            before = breaker.state
            breaker.record(bool(argument))
            if before is BreakerState.CLOSED and breaker.state is not BreakerState.CLOSED:
                assert breaker.state is BreakerState.OPEN
                open_until = clock.now + COOLDOWN
            if probe_granted and not argument:
                open_until = clock.now + COOLDOWN
            probe_granted = False
        elif action == "allow":
            before = breaker.state
            allowed = breaker.allow()
            if open_until is not None and clock.now < open_until:
                assert not allowed, f"allowed at {clock.now} while open until {open_until}"
                assert breaker.state is BreakerState.OPEN
            probe_granted = probe_granted or (allowed and before is BreakerState.HALF_OPEN)
        else:
            assert isinstance(argument, int)
            clock.advance(timedelta(seconds=argument))


@settings(max_examples=400, deadline=None)
@given(policy=policy, steps=st.lists(step, min_size=10, max_size=80))
def test_half_open_grants_one_probe_until_it_reports_or_is_presumed_lost(
    policy: tuple[int, float, int], steps: list[tuple[str, object]]
) -> None:
    clock = ManualClock()
    breaker = new_breaker(clock, *policy)
    probe_out_since: datetime | None = None
    for action, argument in steps:
        if action == "record":
            breaker.record(bool(argument))
            probe_out_since = None
        elif action == "allow":
            state = breaker.state
            allowed = breaker.allow()
            if state is BreakerState.HALF_OPEN and allowed:
                if probe_out_since is not None:
                    assert clock.now >= probe_out_since + COOLDOWN
                probe_out_since = clock.now
            if state is BreakerState.CLOSED:
                assert allowed
        else:
            assert isinstance(argument, int)
            clock.advance(timedelta(seconds=argument))
