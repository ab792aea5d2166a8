"""The AWS KMS signer against a local KMS-compatible server (moto in server mode, 127.0.0.1).

moto 5.2.5 makes ECC_SECG_P256K1 keys and signs with them, but ignores MessageType=DIGEST: it
hashes the 32 bytes again with SHA-256 before signing, where AWS signs them as given. The wire
format (SubjectPublicKeyInfo, DER signatures) is therefore tested against moto over the digest
moto actually signs; signing end to end is skipped, with that reason, while moto does this.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account

from adapters.evm.balance_proof import BalanceProof, ProofDomain, recover_signer, sign
from adapters.signing import SignerUnavailable
from adapters.signing.ecdsa import DeviceSignatureInvalid, ethereum_vrs

pytest.importorskip("boto3", reason="boto3 is not installed (pip install .[keys-test])")
pytest.importorskip(
    "moto.server", reason="moto[server] is not installed (pip install .[keys-test])"
)

from adapters.signing.kms_signer import KmsSigner, create_kms_key


@pytest.fixture(scope="module")
def kms() -> Iterator[Any]:
    """A boto3 KMS client talking to moto on 127.0.0.1; the server stops after the module."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield boto3.client(
            "kms",
            endpoint_url=f"http://{host}:{port}",
            region_name="eu-west-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
    finally:
        server.stop()


def test_the_kms_public_key_and_der_signatures_make_ethereum_signatures(kms: Any) -> None:
    signer = KmsSigner(kms, create_kms_key(kms, "settle node key"))
    digest = b"\x42" * 32
    der = signer._device_sign(digest)
    assert der[0] == 0x30  # KMS answers DER
    # moto signed sha256(digest): recovered against the KMS public key, it is that key's.
    v, r, s = ethereum_vrs(hashlib.sha256(digest).digest(), der, signer.public_point)
    assert v in (0, 1) and r > 0 and s > 0


def test_kms_signs_balance_proofs_that_recover_to_its_key(kms: Any) -> None:
    signer = KmsSigner(kms, create_kms_key(kms, "settle node key"))
    try:
        signer.sign_hash(b"\x07" * 32)
    except DeviceSignatureInvalid:
        pytest.skip("moto ignores MessageType=DIGEST (signs SHA-256 of the digest); AWS does not")
    domain = ProofDomain(31337, Account.create().address)
    proof = BalanceProof(9, 1, 25)
    assert recover_signer(proof, domain, sign(proof, domain, signer)) == signer.address


def test_a_key_of_another_spec_is_refused_naming_it(kms: Any) -> None:
    key_id = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    with pytest.raises(SignerUnavailable, match="ECC_NIST_P256"):
        KmsSigner(kms, key_id)
