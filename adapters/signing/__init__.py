"""Signers: the port that signs balance proofs and transactions, and its adapters."""

from adapters.signing.keystore import KeystoreSigner
from adapters.signing.local_key import LocalKeySigner
from adapters.signing.signer import Signer, SignerUnavailable

__all__ = ["KeystoreSigner", "LocalKeySigner", "Signer", "SignerUnavailable"]
