"""The fraud rules' decisions on their own: baselines from the peer's past windows, empty
windows lowering the baseline, counts that restart after a finding, disabled rules."""

from __future__ import annotations

from application.fraud import FraudRules, FraudSettings, Rule, VelocityRule, new_state

HOUR = 3600.0


def _rules(**changes: object) -> FraudRules:
    return FraudRules(FraudSettings().model_copy(update=changes))


def test_velocity_fires_once_per_window_above_factor_times_the_baseline() -> None:
    rules = _rules()
    state = new_state("p", "USD", 10**9)
    for hour in range(6):
        assert rules.packets(state, hour * HOUR, 0, 1_000, 100) == []
    assert rules.packets(state, 6 * HOUR, 0, 1_000, 100) == []
    found = rules.packets(state, 6 * HOUR + 10, 0, 20_000, 1)
    assert [f.rule for f in found] == [Rule.VELOCITY]
    assert found[0].facts["baseline_amount"] == 1_000
    assert rules.packets(state, 6 * HOUR + 20, 0, 20_000, 1) == []  # once per window


def test_a_quiet_spell_lowers_the_baseline_it_is_compared_with() -> None:
    rules = _rules(velocity=VelocityRule(baseline_windows=4, min_windows=1, min_packets=10**6))
    state = new_state("p", "USD", 10**9)
    rules.packets(state, 0, 0, 1_000, 1)
    rules.packets(state, 10 * HOUR, 0, 1, 1)  # closes hour 0, then empty hours enter
    assert state["base_amount"] < 1_000


def test_velocity_waits_for_enough_windows_before_it_may_fire() -> None:
    rules = _rules()
    state = new_state("p", "USD", 10**9)
    assert rules.packets(state, 0, 0, 10**12, 10**6) == []


def test_a_count_rule_fires_at_its_count_and_then_counts_again() -> None:
    rules = _rules()
    state = new_state("p", "USD", 10**9)
    facts = {"channel_id": "c"}
    assert rules.stale_claim(state, 0, facts) == []
    assert rules.stale_claim(state, 1, facts) == []
    assert [f.rule for f in rules.stale_claim(state, 2, facts)] == [Rule.STALE_CLAIMS]
    assert rules.stale_claim(state, 3, facts) == []


def test_events_older_than_the_window_do_not_count() -> None:
    rules = _rules()
    state = new_state("p", "USD", 10**9)
    for at in (0.0, 4000.0, 8000.0):  # never three within an hour
        assert rules.stale_claim(state, at, {}) == []


def test_a_disabled_rule_never_fires() -> None:
    settings = FraudSettings()
    settings.large_claim.enabled = False
    rules = FraudRules(settings)
    state = new_state("p", "USD", 10**9)
    state["receivable"] = 10**9
    for _ in range(10):
        rules.large_amount(state, "claim", 10)
    assert rules.large_amount(state, "claim", 10**6) == []


def test_proofs_from_the_registered_address_in_another_case_are_expected() -> None:
    rules = _rules()
    state = new_state("p", "USD", 10**9)
    state["address"] = "0x" + "ab" * 20
    assert rules.partner_proof(state, "0x" + "AB" * 20, "c") == []
    assert [f.rule for f in rules.partner_proof(state, "0x" + "cd" * 20, "c")] == [
        Rule.UNEXPECTED_SIGNER
    ]
