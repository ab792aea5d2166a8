"""Money as integers in minor units, with explicit scale conversions that refuse to lose value."""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import InvalidAmount, InvalidField, LossyConversion

MAX_AMOUNT = 2**128 - 1
"""The largest amount a balance may hold (TigerBeetle's u128)."""


@dataclass(frozen=True)
class Asset:
    """An asset as the ledger counts it: a code and the decimal places of its minor unit."""

    code: str
    scale: int

    def __post_init__(self) -> None:
        check_asset_code(self.code)
        if not 0 <= self.scale <= 38:
            raise InvalidField("asset_scale", self.scale, "must be between 0 and 38")


def check_asset_code(code: str) -> str:
    """Returns `code` if it can name an asset: 1 to 16 printable ASCII characters, no spaces."""
    if not code or len(code) > 16 or not (code.isascii() and code.isprintable()):
        raise InvalidField("asset_code", code, "must be 1 to 16 printable ASCII characters")
    if any(c.isspace() for c in code):
        raise InvalidField("asset_code", code, "must not contain whitespace")
    return code


def check_amount(field: str, value: object, *, allow_zero: bool = False) -> int:
    """Returns `value` if it is an int amount in range, else raises InvalidAmount."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidAmount(field, value, "must be an integer number of minor units")
    if value < 0 or (value == 0 and not allow_zero):
        raise InvalidAmount(field, value, "must be positive" if not allow_zero else "must be >= 0")
    if value > MAX_AMOUNT:
        raise InvalidAmount(field, value, "exceeds 2**128-1")
    return value


def convert_scale(amount: int, from_scale: int, to_scale: int) -> int:
    """Converts between scales exactly; raises LossyConversion rather than round."""
    if to_scale >= from_scale:
        return amount * int(10 ** (to_scale - from_scale))
    factor = int(10 ** (from_scale - to_scale))
    converted, leftover = divmod(amount, factor)
    if leftover:
        raise LossyConversion(amount, from_scale, to_scale, leftover)
    return converted
