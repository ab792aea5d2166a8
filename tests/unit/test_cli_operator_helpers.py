"""The pure parts of the operator commands: amounts at the edge, token units shown exactly, and
what a recorded routing decision says of each rail's breaker and score."""

from __future__ import annotations

import argparse

import pytest

from entrypoints.cli.channels import tokens
from entrypoints.cli.peer_changes import amount
from projections.rail_decisions import rail_at_decision

DECISION = {
    "at": "2026-01-01T00:00:00+00:00",
    "chosen": "b",
    "ranked": [
        {"rail": "b", "score": 0.9, "probe": False},
        {"rail": "c", "score": 0.4, "probe": True},
    ],
    "skipped": {"a": "circuit open", "d": "probe in flight", "e": "disabled"},
}


@pytest.mark.parametrize(
    ("rail", "breaker", "score", "skipped"),
    [
        ("a", "open", None, "circuit open"),
        ("b", "closed", 0.9, None),
        ("c", "half_open", 0.4, None),
        ("d", "half_open", None, "probe in flight"),
        ("e", None, None, "disabled"),
        ("f", None, None, None),
    ],
)
def test_a_decision_tells_each_rails_breaker_and_score(
    rail: str, breaker: str | None, score: float | None, skipped: str | None
) -> None:
    seen = rail_at_decision(DECISION, rail)
    assert (seen.breaker, seen.score, seen.skipped) == (breaker, score, skipped)


def test_no_decision_says_nothing_of_a_rail() -> None:
    seen = rail_at_decision(None, "a")
    assert (seen.breaker, seen.score, seen.skipped) == (None, None, None)


@pytest.mark.parametrize(
    ("base_units", "decimals", "shown"),
    [
        (0, 18, "0"),
        (10**18, 18, "1"),
        (5_500_000 * 10**12, 18, "5.5"),
        (1, 18, "0." + "0" * 17 + "1"),
        (120, 0, "120"),
    ],
)
def test_token_amounts_are_shown_exactly_in_tokens(
    base_units: int, decimals: int, shown: str
) -> None:
    assert tokens(base_units, decimals) == shown


def test_amounts_are_whole_non_negative_and_bounded() -> None:
    assert amount("0") == 0 and amount(" 42 ") == 42
    for bad, problem in (
        ("-1", "negative"),
        ("1.5", "whole"),
        ("1e3", "whole"),
        (str(2**128), "exceeds"),
    ):
        with pytest.raises(argparse.ArgumentTypeError, match=problem):
            amount(bad)
