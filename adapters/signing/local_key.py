"""A signer holding a private key read from an environment variable."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress

from adapters.signing.signer import SignerUnavailable


class LocalKeySigner:
    """Signs with a key held in memory; its repr shows the address only."""

    def __init__(self, account: LocalAccount) -> None:
        self._account = account

    @classmethod
    def from_private_key(cls, private_key: str | bytes) -> LocalKeySigner:
        try:
            return cls(Account.from_key(private_key))
        except (ValueError, TypeError) as error:
            raise SignerUnavailable("private key", "is not a 32-byte hex key") from error

    @classmethod
    def from_env(cls, variable: str, environ: Mapping[str, str] | None = None) -> LocalKeySigner:
        """Reads the hex key from `variable`; errors name the variable, never its value."""
        value = (os.environ if environ is None else environ).get(variable, "").strip()
        if not value:
            raise SignerUnavailable(variable, "is not set")
        try:
            return cls(Account.from_key(value))
        except (ValueError, TypeError) as error:
            raise SignerUnavailable(variable, "is not a 32-byte hex private key") from error

    @property
    def address(self) -> ChecksumAddress:
        return self._account.address

    def sign_typed_data(self, typed_data: dict[str, Any]) -> bytes:
        return bytes(self._account.sign_typed_data(full_message=typed_data).signature)

    def sign_transaction(self, transaction: dict[str, Any]) -> bytes:
        return bytes(self._account.sign_transaction(transaction).raw_transaction)

    def __repr__(self) -> str:
        return f"LocalKeySigner(address={self.address})"
