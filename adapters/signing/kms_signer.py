"""A signer whose secp256k1 key lives in AWS KMS (key spec ECC_SECG_P256K1).

KMS signs a 32-byte digest (MessageType DIGEST, ECDSA_SHA_256) and returns DER; the key never
leaves KMS. The client is any boto3 KMS client: AWS itself, or a KMS-compatible server.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from adapters.signing.digest_signer import DigestSigner
from adapters.signing.ecdsa import uncompressed_point
from adapters.signing.signer import SignerUnavailable

KEY_SPEC = "ECC_SECG_P256K1"


class KeyServiceFailed(Exception):
    """KMS did not answer a signing request; worth retrying, the signature was not made."""

    retryable = True
    alert = False

    def __init__(self, key_id: str, problem: str) -> None:
        self.key_id = key_id
        self.problem = problem
        super().__init__(f"KMS key {key_id}: {problem}")


def create_kms_key(client: Any, description: str) -> str:
    """Creates a signing key inside KMS and returns its id."""
    created = client.create_key(KeySpec=KEY_SPEC, KeyUsage="SIGN_VERIFY", Description=description)
    return str(created["KeyMetadata"]["KeyId"])


class KmsSigner(DigestSigner):
    """Reads the public key once; each signature is one KMS Sign call."""

    def __init__(self, client: Any, key_id: str) -> None:
        self._client = client
        try:
            public = client.get_public_key(KeyId=key_id)
        except (BotoCoreError, ClientError) as error:
            raise SignerUnavailable(
                f"KMS key {key_id}", f"public key unreadable: {error}"
            ) from error
        spec = public.get("KeySpec") or public.get("CustomerMasterKeySpec")
        if spec != KEY_SPEC or public.get("KeyUsage") != "SIGN_VERIFY":
            raise SignerUnavailable(
                f"KMS key {key_id}", f"is {spec}/{public.get('KeyUsage')}, not {KEY_SPEC} signing"
            )
        super().__init__(uncompressed_point(bytes(public["PublicKey"])), key_id)

    def _device_sign(self, digest: bytes) -> bytes:
        try:
            answer = self._client.sign(
                KeyId=self.key_id,
                Message=digest,
                MessageType="DIGEST",
                SigningAlgorithm="ECDSA_SHA_256",
            )
        except (BotoCoreError, ClientError) as error:
            raise KeyServiceFailed(self.key_id, str(error)) from error
        return bytes(answer["Signature"])
