"""The signer port: an address that signs EIP-712 typed data and transactions."""

from __future__ import annotations

from typing import Any, Protocol

from eth_typing import ChecksumAddress


class Signer(Protocol):
    """Signs for one Ethereum account; implementations never expose or log the key."""

    @property
    def address(self) -> ChecksumAddress: ...

    def sign_typed_data(self, typed_data: dict[str, Any]) -> bytes:
        """Returns the 65-byte (r, s, v) signature of an EIP-712 message (full form)."""
        ...

    def sign_transaction(self, transaction: dict[str, Any]) -> bytes:
        """Returns the raw signed transaction bytes, ready to broadcast."""
        ...


class SignerUnavailable(Exception):
    """The key could not be loaded; `source` names the variable or file, never the key."""

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"signer unavailable: {source}: {problem}")
