"""A signer whose secp256k1 key lives in a PKCS#11 token (an HSM, or SoftHSM2 in tests).

The key is generated inside the token as sensitive and not extractable; this process only
ever holds its public point and asks the token for CKM_ECDSA signatures over digests.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.util.ec import encode_named_curve_parameters

from adapters.signing.digest_signer import DigestSigner
from adapters.signing.ecdsa import uncompressed_point
from adapters.signing.signer import SignerUnavailable

_SECP256K1 = "secp256k1"


def _open_token(library: Path, token_label: str) -> Any:
    try:
        return pkcs11.lib(str(library)).get_token(token_label=token_label)
    except (RuntimeError, OSError) as error:  # a library that cannot be loaded
        raise SignerUnavailable(str(library), f"PKCS#11 library: {error}") from error
    except pkcs11.NoSuchToken as error:
        raise SignerUnavailable(f"token {token_label}", "no such PKCS#11 token") from error


def _logged_in_session(token: Any, token_label: str, pin: str, *, rw: bool) -> Any:
    """A session of the logged-in user. PKCS#11 logs in per application, not per session: when
    another session of this process is logged in already, the new one shares that login."""
    try:
        return token.open(user_pin=pin, rw=rw)
    except pkcs11.UserAlreadyLoggedIn:
        return token.open(rw=rw)
    except pkcs11.PinIncorrect as error:
        raise SignerUnavailable(f"token {token_label}", "wrong PIN") from error


def generate_pkcs11_key(library: Path, token_label: str, pin: str, key_label: str) -> bytes:
    """Generates a secp256k1 key pair inside the token under `key_label` and returns its
    public point; refuses a label already in use, so a key is never silently replaced."""
    token = _open_token(library, token_label)
    with _logged_in_session(token, token_label, pin, rw=True) as session:
        existing = list(session.get_objects({Attribute.LABEL: key_label}))
        if existing:
            raise SignerUnavailable(f"key {key_label}", "label already in use in the token")
        parameters = session.create_domain_parameters(
            KeyType.EC,
            {Attribute.EC_PARAMS: encode_named_curve_parameters(_SECP256K1)},
            local=True,
        )
        public, _ = parameters.generate_keypair(
            store=True,
            label=key_label,
            id=key_label.encode(),
            private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False},
        )
        return uncompressed_point(bytes(public[Attribute.EC_POINT]))


class Pkcs11Signer(DigestSigner):
    """Signs through one logged-in session, serialised: a PKCS#11 session is not thread-safe."""

    def __init__(self, library: Path, token_label: str, key_label: str, pin: str) -> None:
        token = _open_token(library, token_label)
        self._session = _logged_in_session(token, token_label, pin, rw=False)
        self._lock = threading.Lock()
        try:
            public = self._session.get_key(ObjectClass.PUBLIC_KEY, KeyType.EC, label=key_label)
            self._private = self._session.get_key(
                ObjectClass.PRIVATE_KEY, KeyType.EC, label=key_label
            )
        except (pkcs11.NoSuchKey, pkcs11.MultipleObjectsReturned) as error:
            self._session.close()
            raise SignerUnavailable(
                f"key {key_label}", f"not exactly one EC key pair in token {token_label}"
            ) from error
        super().__init__(uncompressed_point(bytes(public[Attribute.EC_POINT])), key_label)

    def _device_sign(self, digest: bytes) -> bytes:
        with self._lock:
            return bytes(self._private.sign(digest, mechanism=Mechanism.ECDSA))

    def close(self) -> None:
        with self._lock:
            self._session.close()
