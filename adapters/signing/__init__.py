"""Signers: the port that signs balance proofs and transactions, and its adapters.

The adapters are re-exported lazily (PEP 562): importing any `adapters.signing.*` module runs
this package first, and the key adapters pull in eth_account/web3 (about 1.5 s), which a node
with no rails never needs."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from adapters.signing.signer import Signer, SignerUnavailable

if TYPE_CHECKING:
    from adapters.signing.keystore import KeystoreSigner
    from adapters.signing.local_key import LocalKeySigner

__all__ = ["KeystoreSigner", "LocalKeySigner", "Signer", "SignerUnavailable"]

_LAZY = {
    "KeystoreSigner": "adapters.signing.keystore",
    "LocalKeySigner": "adapters.signing.local_key",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(module), name)
