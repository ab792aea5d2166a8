"""The token-unit conversions, where the EVM code has always imported them from; they live in
the domain (`domain/token_units.py`) so the application converts without this adapter."""

from domain.token_units import (
    MAX_UINT256,
    Conversion,
    InvalidAmount,
    LossyConversion,
    convert_exact,
    ledger_to_token,
    split,
    token_to_ledger,
)

__all__ = [
    "MAX_UINT256",
    "Conversion",
    "InvalidAmount",
    "LossyConversion",
    "convert_exact",
    "ledger_to_token",
    "split",
    "token_to_ledger",
]
