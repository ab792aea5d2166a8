"""The signer the settings name: a key from an environment variable, or an encrypted keystore."""

from __future__ import annotations

import os
from collections.abc import Mapping

from adapters.evm.settings import ChainSettings
from adapters.signing.keystore import KeystoreSigner
from adapters.signing.local_key import LocalKeySigner
from adapters.signing.signer import Signer, SignerUnavailable


def load_signer(settings: ChainSettings, environ: Mapping[str, str] | None = None) -> Signer:
    """The configured key: from an environment variable or an encrypted keystore file."""
    env = os.environ if environ is None else environ
    if settings.key_source == "env":
        return LocalKeySigner.from_env(settings.private_key_env, env)
    if settings.keystore_path is None:
        raise SignerUnavailable("SETTLE_CHAIN__KEYSTORE_PATH", "is not set")
    password = env.get(settings.keystore_password_env)
    if password is None:
        raise SignerUnavailable(settings.keystore_password_env, "is not set")
    return KeystoreSigner(settings.keystore_path, password)
