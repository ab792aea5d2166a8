"""secp256k1 signatures from keys that never leave their device, made Ethereum-shaped.

An HSM or KMS returns (r, s) only, DER-encoded or raw r||s, with s in either half of the group.
Ethereum wants the low-s form (EIP-2) and a recovery id `v`, which the device cannot give: it is
found by recovering both candidates against the key's known public point.
"""

from __future__ import annotations

from coincurve import PublicKey
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HALF_ORDER = SECP256K1_ORDER // 2


class DeviceSignatureInvalid(Exception):
    """What the device returned is not a signature of `digest` by `address`; never retried,
    because a device that signs with another key must not be trusted with a second attempt."""

    retryable = False
    alert = True

    def __init__(self, address: str, digest: bytes, problem: str) -> None:
        self.address = address
        self.digest = digest
        self.problem = problem
        super().__init__(f"device signature for {address} over 0x{digest.hex()}: {problem}")


def uncompressed_point(encoded: bytes) -> bytes:
    """The 65-byte 0x04||X||Y point inside a DER OCTET STRING (PKCS#11 CKA_EC_POINT) or a
    SubjectPublicKeyInfo (KMS GetPublicKey), both of which end with it."""
    point = encoded[-65:]
    if len(point) != 65 or point[0] != 0x04:
        raise ValueError("public key is not an uncompressed secp256k1 point")
    PublicKey(point)  # refuses a point that is not on the curve
    return point


def address_of(point: bytes) -> ChecksumAddress:
    """The Ethereum address of an uncompressed public point."""
    return to_checksum_address(keccak(point[1:])[-20:])


def _der_integer(data: bytes, at: int) -> tuple[int, int]:
    if data[at] != 0x02 or data[at + 1] > 33:
        raise ValueError("DER signature: expected a short INTEGER")
    length = data[at + 1]
    start = at + 2
    return int.from_bytes(data[start : start + length], "big"), start + length


def decode_signature(signature: bytes) -> tuple[int, int]:
    """(r, s) from raw r||s (64 bytes) or a DER SEQUENCE of two INTEGERs."""
    if len(signature) == 64:
        return int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    if len(signature) < 8 or signature[0] != 0x30 or signature[1] != len(signature) - 2:
        raise ValueError(f"signature of {len(signature)} bytes is neither r||s nor DER")
    r, after_r = _der_integer(signature, 2)
    s, end = _der_integer(signature, after_r)
    if end != len(signature):
        raise ValueError("DER signature: trailing bytes")
    return r, s


def ethereum_vrs(digest: bytes, signature: bytes, point: bytes) -> tuple[int, int, int]:
    """(v, r, s) with s in the low half and v in {0, 1}: the recovery id under which the
    signature recovers to `point`. Raises DeviceSignatureInvalid when neither does."""
    address = address_of(point)
    try:
        r, s = decode_signature(signature)
    except (ValueError, IndexError) as error:
        raise DeviceSignatureInvalid(address, digest, str(error)) from error
    if not (0 < r < SECP256K1_ORDER and 0 < s < SECP256K1_ORDER):
        raise DeviceSignatureInvalid(address, digest, "r or s out of range")
    if s > _HALF_ORDER:
        s = SECP256K1_ORDER - s
    compact = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    for v in (0, 1):
        try:
            recovered = PublicKey.from_signature_and_message(
                compact + bytes([v]), digest, hasher=None
            )
        # coincurve raises a bare Exception for an unrecoverable candidate: try the next v.
        except Exception:  # nosec B112
            continue
        if recovered.format(compressed=False) == point:
            return v, r, s
    raise DeviceSignatureInvalid(address, digest, "does not recover to the device's key")
