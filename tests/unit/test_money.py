import pytest

from domain.errors import InvalidAmount, InvalidField, LossyConversion
from domain.money import MAX_AMOUNT, Asset, check_amount, convert_scale


def test_scale_up_is_exact() -> None:
    assert convert_scale(123, 2, 18) == 123 * 10**16


def test_scale_down_refuses_to_lose_value() -> None:
    assert convert_scale(1_230_000, 6, 2) == 123
    with pytest.raises(LossyConversion) as raised:
        convert_scale(1_230_001, 6, 2)
    assert raised.value.leftover == 1


@pytest.mark.parametrize("value", [1.5, "10", True, -1, 0, MAX_AMOUNT + 1])
def test_check_amount_rejects_non_amounts(value: object) -> None:
    with pytest.raises(InvalidAmount) as raised:
        check_amount("amount", value)
    assert raised.value.field == "amount"


def test_asset_validates_code_and_scale() -> None:
    with pytest.raises(InvalidField):
        Asset("", 2)
    with pytest.raises(InvalidField):
        Asset("USD", 39)


@pytest.mark.parametrize("code", ["", "US D", "USD\n", "\u20ac", "X" * 17])
def test_asset_code_must_be_printable_ascii_without_spaces(code: str) -> None:
    with pytest.raises(InvalidField) as raised:
        Asset(code, 2)
    assert raised.value.field == "asset_code"
