"""RFC 0038 Quantity: an amount (a non-negative integer sent as a string) at a scale (0-255),
parsed once with errors naming the field, and split exactly into what an account's scale can
settle now and the finer leftover kept for later (never rounded, never lost)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.money import MAX_AMOUNT

MAX_SCALE = 255
MAX_DIGITS = 600
"""Long enough for any u128 amount at any scale up to 255; longer strings are refused unread."""


class InvalidQuantity(Exception):
    """A Quantity field is missing or malformed; `field` names it (`amount` or `scale`)."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


@dataclass(frozen=True)
class Quantity:
    amount: int
    scale: int

    def as_json(self) -> dict[str, Any]:
        return {"amount": str(self.amount), "scale": self.scale}


def parse_quantity(body: object) -> Quantity:
    """The Quantity in a decoded JSON body, or InvalidQuantity naming the field at fault."""
    if not isinstance(body, dict):
        raise InvalidQuantity("body", "must be a JSON object with amount and scale")
    if "amount" not in body:
        raise InvalidQuantity("amount", "is required")
    if "scale" not in body:
        raise InvalidQuantity("scale", "is required")
    amount, scale = body["amount"], body["scale"]
    if not isinstance(amount, str) or not amount.isascii() or not amount.isdigit():
        raise InvalidQuantity("amount", "must be a string of a non-negative integer")
    if len(amount) > MAX_DIGITS:
        raise InvalidQuantity("amount", f"must be at most {MAX_DIGITS} digits")
    if not isinstance(scale, int) or isinstance(scale, bool) or not 0 <= scale <= MAX_SCALE:
        raise InvalidQuantity("scale", f"must be an integer from 0 to {MAX_SCALE}")
    return Quantity(int(amount), scale)


def add(first: Quantity, second: Quantity) -> Quantity:
    """The exact sum, at the finer of the two scales."""
    scale = max(first.scale, second.scale)
    return Quantity(
        first.amount * 10 ** (scale - first.scale) + second.amount * 10 ** (scale - second.scale),
        scale,
    )


def split(quantity: Quantity, account_scale: int) -> tuple[int, Quantity]:
    """(whole minor units at `account_scale`, the finer rest at the quantity's scale)."""
    if quantity.scale <= account_scale:
        return quantity.amount * 10 ** (account_scale - quantity.scale), Quantity(0, account_scale)
    whole, rest = divmod(quantity.amount, 10 ** (quantity.scale - account_scale))
    return whole, Quantity(rest, quantity.scale)


def check_settleable(minor_units: int) -> int:
    if minor_units > MAX_AMOUNT:
        raise InvalidQuantity("amount", "exceeds what an account can hold (2**128-1 minor units)")
    return minor_units
