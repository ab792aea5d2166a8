"""Exact conversion between ledger scale and token decimals: nothing is rounded away."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.evm.units import (
    MAX_UINT256,
    InvalidAmount,
    LossyConversion,
    convert_exact,
    ledger_to_token,
    split,
    token_to_ledger,
)


def test_ledger_cents_become_token_base_units_by_multiplying() -> None:
    assert ledger_to_token(12_345, asset_scale=2, token_decimals=6) == 123_450_000
    assert ledger_to_token(7, asset_scale=6, token_decimals=6) == 7


def test_token_units_become_ledger_units_when_exact() -> None:
    assert token_to_ledger(123_450_000, token_decimals=6, asset_scale=2) == 12_345


def test_a_conversion_that_would_lose_value_is_refused_with_the_leftover() -> None:
    with pytest.raises(LossyConversion) as caught:
        token_to_ledger(123_456_789, token_decimals=6, asset_scale=2)
    assert caught.value.leftover == 6_789
    assert "6789 minor units would be lost" in str(caught.value)


def test_split_keeps_the_leftover_in_the_source_scale() -> None:
    conversion = split(1_000_000_000_000_000_001, from_scale=18, to_scale=9)
    assert (conversion.converted, conversion.leftover) == (1_000_000_000, 1)


@pytest.mark.parametrize(
    ("amount", "from_scale", "to_scale", "field"),
    [(-1, 2, 6, "amount"), (1.5, 2, 6, "amount"), (True, 2, 6, "amount"), (1, -1, 6, "from_scale")],
)
def test_bad_inputs_name_the_field(
    amount: object, from_scale: int, to_scale: int, field: str
) -> None:
    with pytest.raises(InvalidAmount) as caught:
        convert_exact(amount, from_scale, to_scale)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_amounts_beyond_uint256_are_refused() -> None:
    with pytest.raises(InvalidAmount):
        ledger_to_token(MAX_UINT256, asset_scale=0, token_decimals=1)


@given(
    amount=st.integers(min_value=0, max_value=2**128 - 1),
    asset_scale=st.integers(min_value=0, max_value=18),
    token_decimals=st.integers(min_value=0, max_value=18),
)
def test_split_never_loses_value(amount: int, asset_scale: int, token_decimals: int) -> None:
    conversion = split(amount, asset_scale, token_decimals)
    if token_decimals >= asset_scale:
        assert token_to_ledger(conversion.converted, token_decimals, asset_scale) == amount
    else:
        factor = 10 ** (asset_scale - token_decimals)
        assert conversion.converted * factor + conversion.leftover == amount
        assert 0 <= conversion.leftover < factor
