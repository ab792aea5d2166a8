"""The signer the settings name: a key from an environment variable, an encrypted keystore, a
PKCS#11 HSM or AWS KMS. The well-known development keys warn when used outside the demo/tests."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from adapters.evm.settings import ChainSettings
from adapters.signing.keystore import KeystoreSigner
from adapters.signing.local_key import LocalKeySigner
from adapters.signing.signer import Signer, SignerUnavailable

_log = logging.getLogger("settle.keys")

# Anvil's and Hardhat's accounts of the public "test ... junk" mnemonic: anyone can spend from them.
DEVELOPMENT_ADDRESSES = frozenset(
    address.lower()
    for address in (
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
        "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
        "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
        "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
        "0x976EA74026E726554dB657fA54763abd0C3a0aa9",
        "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
        "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f",
        "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
    )
)


def is_development_key(address: str) -> bool:
    return address.lower() in DEVELOPMENT_ADDRESSES


def load_signer(settings: ChainSettings, environ: Mapping[str, str] | None = None) -> Signer:
    """The configured key; a development key on a real node logs a warning naming it."""
    signer = _load(settings, os.environ if environ is None else environ)
    if (
        is_development_key(signer.address)
        and settings.backend == "rpc"
        and not settings.development_key_expected
    ):
        _log.warning(
            "the signing key %s is a public development key: anyone can spend from it; "
            "use it only in the demo and tests (SETTLE_CHAIN__DEVELOPMENT_KEY_EXPECTED=true)",
            signer.address,
        )
    return signer


def configured_reference(settings: ChainSettings) -> str:
    """The reference (`source:locator`) of the key the settings name, as the key ring keeps it."""
    locator = {
        "env": settings.private_key_env,
        "keystore": str(settings.keystore_path),
        "pkcs11": settings.pkcs11_key_label,
        "kms": settings.kms_key_id,
    }[settings.key_source]
    return f"{settings.key_source}:{locator}"


def load_key(
    reference: str, settings: ChainSettings, environ: Mapping[str, str] | None = None
) -> Signer:
    """The key a ring reference names, with the token, region and secrets from the settings:
    how a node opens an older key that channels opened before a rotation still sign with."""
    source, _, locator = reference.partition(":")
    overrides: dict[str, str] = {
        "env": {"private_key_env": locator},
        "keystore": {"keystore_path": locator},
        "pkcs11": {"pkcs11_key_label": locator},
        "kms": {"kms_key_id": locator},
    }.get(source, {})
    if not locator or not overrides:
        raise SignerUnavailable(f"key {reference}", "is not source:locator with a known source")
    named = settings.model_validate({**settings.model_dump(), "key_source": source, **overrides})
    return load_signer(named, environ)


def generate_device_key(
    reference: str, settings: ChainSettings, environ: Mapping[str, str] | None = None
) -> str:
    """Generates a key inside the HSM (`pkcs11:<new label>`) or KMS (`kms:new`) the settings
    name, and returns the reference that opens it. The key material never leaves the device."""
    env = os.environ if environ is None else environ
    source, _, locator = reference.partition(":")
    if source == "kms" and locator == "new":
        import boto3

        from adapters.signing.kms_signer import create_kms_key

        client = boto3.client(
            "kms", region_name=settings.kms_region, endpoint_url=settings.kms_endpoint_url
        )
        return "kms:" + create_kms_key(client, "settlement-ledger signing key")
    if source != "pkcs11" or not locator:
        raise SignerUnavailable(f"key {reference}", "generate takes pkcs11:<label> or kms:new")
    from adapters.signing.pkcs11_signer import generate_pkcs11_key

    pin = env.get(settings.pkcs11_pin_env)
    if settings.pkcs11_library is None or settings.pkcs11_token_label is None or not pin:
        raise SignerUnavailable(
            "SETTLE_CHAIN__PKCS11_LIBRARY",
            f"and SETTLE_CHAIN__PKCS11_TOKEN_LABEL and {settings.pkcs11_pin_env} are needed",
        )
    generate_pkcs11_key(settings.pkcs11_library, settings.pkcs11_token_label, pin, locator)
    return reference


def _load(settings: ChainSettings, env: Mapping[str, str]) -> Signer:
    if settings.key_source == "env":
        return LocalKeySigner.from_env(settings.private_key_env, env)
    if settings.key_source == "pkcs11":
        return _pkcs11(settings, env)
    if settings.key_source == "kms":
        return _kms(settings)
    if settings.keystore_path is None:
        raise SignerUnavailable("SETTLE_CHAIN__KEYSTORE_PATH", "is not set")
    password = env.get(settings.keystore_password_env)
    if password is None:
        raise SignerUnavailable(settings.keystore_password_env, "is not set")
    return KeystoreSigner(settings.keystore_path, password)


def _pkcs11(settings: ChainSettings, env: Mapping[str, str]) -> Signer:
    from adapters.signing.pkcs11_signer import Pkcs11Signer  # the HSM extra is optional

    pin = env.get(settings.pkcs11_pin_env)
    if not pin:
        raise SignerUnavailable(settings.pkcs11_pin_env, "is not set")
    if settings.pkcs11_library is None or settings.pkcs11_token_label is None:
        raise SignerUnavailable("SETTLE_CHAIN__PKCS11_LIBRARY", "and the token label must be set")
    if settings.pkcs11_key_label is None:
        raise SignerUnavailable("SETTLE_CHAIN__PKCS11_KEY_LABEL", "is not set")
    return Pkcs11Signer(
        settings.pkcs11_library, settings.pkcs11_token_label, settings.pkcs11_key_label, pin
    )


def _kms(settings: ChainSettings) -> Signer:
    import boto3  # the KMS extra is optional

    from adapters.signing.kms_signer import KmsSigner

    if settings.kms_key_id is None:
        raise SignerUnavailable("SETTLE_CHAIN__KMS_KEY_ID", "is not set")
    client = boto3.client(
        "kms", region_name=settings.kms_region, endpoint_url=settings.kms_endpoint_url
    )
    return KmsSigner(client, settings.kms_key_id)
