"""A signer decorator that records every key use (purpose, key, digest) before it signs.

The record is made first: a signature whose use could not be recorded is never made. What is
recorded is the digest signed, never the key, the message or the signature.
"""

from __future__ import annotations

from typing import Any

from eth_account._utils.legacy_transactions import serializable_unsigned_transaction_from_dict
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_typing import ChecksumAddress

from adapters.signing.signer import Signer
from application.keys import KeyUseLog
from domain.key_audit import KeyPurpose

_PURPOSE_OF_TYPE = {
    "BalanceProof": KeyPurpose.BALANCE_PROOF,
    "CooperativeSettle": KeyPurpose.COOPERATIVE_SETTLE,
}


class UnknownSigningPurpose(Exception):
    """Typed data of a kind this node never signs: refused rather than recorded vaguely."""

    retryable = False
    alert = True

    def __init__(self, primary_type: object) -> None:
        self.primary_type = primary_type
        super().__init__(f"typed data primaryType={primary_type!r}: not a message this node signs")


def transaction_digest(transaction: dict[str, Any]) -> bytes:
    """The hash a key signs for `transaction` (its unsigned serialisation's keccak)."""
    unsigned = {field: value for field, value in transaction.items() if field != "from"}
    return bytes(serializable_unsigned_transaction_from_dict(unsigned).hash())


def typed_data_digest(typed_data: dict[str, Any]) -> bytes:
    return bytes(_hash_eip191_message(encode_typed_data(full_message=typed_data)))


class AuditedSigner:
    """Signs through `inner` after `log` has recorded the use under `reference`."""

    def __init__(self, inner: Signer, reference: str, log: KeyUseLog) -> None:
        self._inner = inner
        self.reference = reference
        self._log = log

    @property
    def address(self) -> ChecksumAddress:
        return self._inner.address

    def _record(self, purpose: KeyPurpose, digest: bytes) -> None:
        self._log.record_key_use(self.reference, self.address, purpose.value, "0x" + digest.hex())

    def sign_typed_data(self, typed_data: dict[str, Any]) -> bytes:
        purpose = _PURPOSE_OF_TYPE.get(typed_data.get("primaryType", ""))
        if purpose is None:
            raise UnknownSigningPurpose(typed_data.get("primaryType"))
        self._record(purpose, typed_data_digest(typed_data))
        return self._inner.sign_typed_data(typed_data)

    def sign_transaction(self, transaction: dict[str, Any]) -> bytes:
        self._record(KeyPurpose.TRANSACTION, transaction_digest(transaction))
        return self._inner.sign_transaction(transaction)

    def __repr__(self) -> str:
        return f"AuditedSigner({self.reference}, address={self.address})"
