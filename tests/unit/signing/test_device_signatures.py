"""A device that signs digests only (DER or r||s, either half of s) yields exactly the balance
proofs and transactions a local key yields, and a device signing with another key is refused."""

from __future__ import annotations

import pytest
from coincurve import PrivateKey
from eth_account import Account

from adapters.evm.balance_proof import BalanceProof, ProofDomain, recover_signer, sign
from adapters.signing import LocalKeySigner
from adapters.signing.digest_signer import DigestSigner
from adapters.signing.ecdsa import SECP256K1_ORDER, DeviceSignatureInvalid, decode_signature

KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
DOMAIN = ProofDomain(31337, Account.create().address)
TRANSACTION = {
    "type": 2,
    "chainId": 31337,
    "nonce": 3,
    "to": "0x00000000000000000000000000000000000000AA",
    "value": 5,
    "gas": 21000,
    "maxFeePerGas": 2 * 10**9,
    "maxPriorityFeePerGas": 10**9,
    "data": b"",
}


def _der(r: int, s: int) -> bytes:
    def integer(value: int) -> bytes:
        body = value.to_bytes(33, "big").lstrip(b"\x00")
        body = b"\x00" + body if body[0] & 0x80 else body
        return bytes([0x02, len(body)]) + body

    content = integer(r) + integer(s)
    return bytes([0x30, len(content)]) + content


class FakeDevice(DigestSigner):
    """Signs like an HSM or KMS may: DER or raw, and with the high s half when told to."""

    def __init__(self, key: bytes, *, der: bool, high_s: bool, signing_key: bytes | None = None):
        self._key = PrivateKey(signing_key or key)
        self._der, self._high_s = der, high_s
        super().__init__(PrivateKey(key).public_key.format(compressed=False), "fake")

    def _device_sign(self, digest: bytes) -> bytes:
        r, s = decode_signature(self._key.sign_recoverable(digest, hasher=None)[:64])
        if self._high_s:
            s = SECP256K1_ORDER - s
        if self._der:
            return _der(r, s)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


@pytest.mark.parametrize(("der", "high_s"), [(True, True), (True, False), (False, True)])
def test_device_signatures_equal_a_local_keys(der: bool, high_s: bool) -> None:
    device, local = FakeDevice(KEY, der=der, high_s=high_s), LocalKeySigner.from_private_key(KEY)
    assert device.address == local.address
    for nonce in range(1, 9):  # eight digests: both recovery ids occur
        proof = BalanceProof(7, nonce, 100 * nonce)
        assert sign(proof, DOMAIN, device) == sign(proof, DOMAIN, local)
        assert recover_signer(proof, DOMAIN, sign(proof, DOMAIN, device)) == local.address
    transaction = {**TRANSACTION, "from": local.address}
    raw = device.sign_transaction(transaction)
    assert raw == local.sign_transaction(TRANSACTION)
    assert Account.recover_transaction(raw) == local.address


def test_every_signature_has_low_s() -> None:
    device = FakeDevice(KEY, der=True, high_s=True)
    for index in range(16):
        signature = device.sign_hash(bytes([index]) * 32)
        assert int.from_bytes(signature[32:64], "big") <= SECP256K1_ORDER // 2
        assert signature[64] in (27, 28)


def test_a_device_signing_with_another_key_is_refused() -> None:
    other = bytes.fromhex("11" * 32)
    device = FakeDevice(KEY, der=True, high_s=False, signing_key=other)
    with pytest.raises(DeviceSignatureInvalid, match="does not recover"):
        device.sign_hash(b"\x01" * 32)


def test_a_transaction_from_another_address_is_refused() -> None:
    device = FakeDevice(KEY, der=False, high_s=False)
    with pytest.raises(ValueError, match="from:"):
        device.sign_transaction({**TRANSACTION, "from": Account.create().address})


@pytest.mark.parametrize("garbage", [b"", b"\x30\x02\x02\x00", b"\x01" * 63, b"\x00" * 64])
def test_malformed_device_output_is_refused(garbage: bytes) -> None:
    class Broken(FakeDevice):
        def _device_sign(self, digest: bytes) -> bytes:
            return garbage

    with pytest.raises(DeviceSignatureInvalid):
        Broken(KEY, der=False, high_s=False).sign_hash(b"\x02" * 32)
