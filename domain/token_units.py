"""Exact conversion between the ledger's scale and the token's decimals.

The ledger counts an asset in minor units of `asset_scale` decimal places; the token counts in
units of `token_decimals` places. Going to more places multiplies exactly; going to fewer
places divides, and a remainder is either refused or returned as a leftover, never rounded away.
Pure arithmetic, so the application converts without importing the EVM adapter.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import InvalidAmount, LossyConversion

MAX_UINT256 = 2**256 - 1

__all__ = [
    "MAX_UINT256",
    "Conversion",
    "InvalidAmount",
    "LossyConversion",
    "ledger_to_token",
    "split",
    "token_to_ledger",
]


@dataclass(frozen=True)
class Conversion:
    """`converted` in the target scale plus `leftover` still in the source scale."""

    converted: int
    leftover: int


def _check(amount: int, from_scale: int, to_scale: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidAmount("amount", amount, "must be an int in minor units")
    if amount < 0:
        raise InvalidAmount("amount", amount, "must not be negative")
    for field, scale in (("from_scale", from_scale), ("to_scale", to_scale)):
        if isinstance(scale, bool) or not isinstance(scale, int) or not 0 <= scale <= 77:
            raise InvalidAmount(field, scale, "must be an int between 0 and 77")


def split(amount: int, from_scale: int, to_scale: int) -> Conversion:
    """Converts what converts exactly and returns the remainder in the source scale."""
    _check(amount, from_scale, to_scale)
    if to_scale >= from_scale:
        return Conversion(converted=amount * 10 ** (to_scale - from_scale), leftover=0)
    converted, leftover = divmod(amount, 10 ** (from_scale - to_scale))
    return Conversion(converted=converted, leftover=leftover)


def convert_exact(amount: int, from_scale: int, to_scale: int) -> int:
    """Converts `amount`, raising LossyConversion if any part of it would be lost."""
    conversion = split(amount, from_scale, to_scale)
    if conversion.leftover:
        raise LossyConversion(amount, from_scale, to_scale, conversion.leftover)
    return conversion.converted


def ledger_to_token(amount: int, asset_scale: int, token_decimals: int) -> int:
    """Ledger minor units to token base units; refuses loss and values beyond uint256."""
    converted = convert_exact(amount, asset_scale, token_decimals)
    if converted > MAX_UINT256:
        raise InvalidAmount("amount", amount, "exceeds uint256 in token units")
    return converted


def token_to_ledger(amount: int, token_decimals: int, asset_scale: int) -> int:
    """Token base units to ledger minor units; refuses loss."""
    return convert_exact(amount, token_decimals, asset_scale)
