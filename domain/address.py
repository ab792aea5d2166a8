"""Account addresses on an EVM chain, checked once when made.

An `Address` is a `str` in one normal form (``0x`` and 40 lower-case hex digits), so two
spellings of one address compare equal and code never compares `.lower()` strings. Display in
EIP-55 checksum form is the adapters' business (it needs keccak, which the domain does not import).
"""

from __future__ import annotations

import re

from domain.errors import InvalidField

_HEX_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


class Address(str):
    __slots__ = ()

    def __new__(cls, value: str, field: str = "address") -> Address:
        if isinstance(value, Address):
            return value
        if not isinstance(value, str) or not _HEX_ADDRESS.match(value):
            raise InvalidField(field, value, "must be a 0x-prefixed 20-byte hex address")
        return super().__new__(cls, value.lower())

    @classmethod
    def parse(cls, value: str, field: str = "address") -> Address:
        return cls(value, field)

    def __repr__(self) -> str:
        return f"Address({str.__repr__(self)})"


ZERO_ADDRESS = Address("0x" + "0" * 40)
