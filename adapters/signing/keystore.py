"""A signer whose key comes from an encrypted keystore (Web3 Secret Storage) JSON file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_typing import ChecksumAddress
from web3 import Web3

from adapters.signing.local_key import LocalKeySigner
from adapters.signing.signer import SignerUnavailable


class KeystoreSigner:
    """Decrypts the keystore once at construction; the password is not kept."""

    def __init__(self, path: Path, password: str) -> None:
        try:
            keystore = json.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise SignerUnavailable(str(path), f"cannot be read ({error.strerror})") from error
        except json.JSONDecodeError as error:
            raise SignerUnavailable(str(path), "is not a JSON keystore") from error
        try:
            private_key = Account.decrypt(keystore, password)
        except ValueError as error:
            raise SignerUnavailable(str(path), "wrong password or corrupt keystore") from error
        self._signer = LocalKeySigner.from_private_key(bytes(private_key))
        self.path = path

    @staticmethod
    def write(
        path: Path, private_key: str | bytes, password: str, iterations: int | None = None
    ) -> ChecksumAddress:
        """Encrypts a key into a new keystore file readable by its owner only; `iterations`
        lowers the scrypt cost (tests), None keeps eth-account's default."""
        keystore = Account.encrypt(private_key, password, iterations=iterations)  # type: ignore[arg-type]
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(keystore, file)
        return Web3.to_checksum_address(Account.from_key(private_key).address)

    @property
    def address(self) -> ChecksumAddress:
        return self._signer.address

    def sign_typed_data(self, typed_data: dict[str, Any]) -> bytes:
        return self._signer.sign_typed_data(typed_data)

    def sign_transaction(self, transaction: dict[str, Any]) -> bytes:
        return self._signer.sign_transaction(transaction)

    def __repr__(self) -> str:
        return f"KeystoreSigner(path={self.path}, address={self.address})"
