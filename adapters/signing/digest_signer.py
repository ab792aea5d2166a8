"""A signer for keys held in a device that signs 32-byte digests only (HSM, KMS).

The hashing stays here, exactly as eth-account does it for a local key, so balance proofs
and transactions come out byte-for-byte as a local key would make them; the device sees the
digest, never the message, and its key never leaves it.
"""

from __future__ import annotations

from typing import Any

from eth_account._utils.signing import sign_transaction_dict
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_keys.datatypes import Signature
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address

from adapters.signing.ecdsa import address_of, ethereum_vrs


class _DeviceKey:
    """The one method eth-account's transaction signing calls on a key, answered by a device."""

    def __init__(self, signer: DigestSigner) -> None:
        self._signer = signer

    def sign_msg_hash(self, message_hash: bytes) -> Signature:
        return Signature(vrs=self._signer.sign_digest_vrs(bytes(message_hash)))


class DigestSigner:
    """Implements the Signer port on top of `_device_sign(digest) -> r||s or DER`."""

    def __init__(self, public_point: bytes, key_id: str) -> None:
        self._point = public_point
        self.key_id = key_id
        self._address = address_of(public_point)

    def _device_sign(self, digest: bytes) -> bytes:
        raise NotImplementedError

    @property
    def address(self) -> ChecksumAddress:
        return self._address

    @property
    def public_point(self) -> bytes:
        """The uncompressed public point (0x04||X||Y): public, never the key."""
        return self._point

    def sign_digest_vrs(self, digest: bytes) -> tuple[int, int, int]:
        if len(digest) != 32:
            raise ValueError(f"digest: expected 32 bytes, got {len(digest)}")
        return ethereum_vrs(digest, self._device_sign(digest), self._point)

    def sign_hash(self, digest: bytes) -> bytes:
        """The 65-byte r||s||v signature (v = 27 or 28) of a 32-byte digest."""
        v, r, s = self.sign_digest_vrs(digest)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v + 27])

    def sign_typed_data(self, typed_data: dict[str, Any]) -> bytes:
        digest = _hash_eip191_message(encode_typed_data(full_message=typed_data))
        return self.sign_hash(digest)

    def sign_transaction(self, transaction: dict[str, Any]) -> bytes:
        unsigned = dict(transaction)
        sender = unsigned.pop("from", None)
        if sender is not None and to_checksum_address(sender) != self.address:
            raise ValueError(f"from: {sender} is not this signer's address {self.address}")
        _, _, _, raw = sign_transaction_dict(_DeviceKey(self), unsigned)  # type: ignore[arg-type]
        return bytes(raw)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(key_id={self.key_id}, address={self.address})"
