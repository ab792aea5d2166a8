"""EIP-712 balance proofs and cooperative-settlement messages, as TokenNetwork.sol checks them.

The domain binds the chain id and the TokenNetwork address, so a proof signed for one
contract or chain is worthless on another. The values signed are the domain's
(`domain/balance_proof.py`, `domain/final_balances.py`); this module encodes, signs and verifies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from eth_utils.exceptions import ValidationError

from adapters.signing.signer import Signer
from domain.balance_proof import EMPTY_LOCKS_ROOT, BalanceProof, InvalidProofSignature
from domain.final_balances import CooperativeSettlement

DOMAIN_NAME = "SettlementLedgerTokenNetwork"
DOMAIN_VERSION = "1"

_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
_BALANCE_PROOF_TYPE = [
    {"name": "channelId", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "transferredAmount", "type": "uint256"},
    {"name": "lockedAmount", "type": "uint256"},
    {"name": "locksRoot", "type": "bytes32"},
]
_COOPERATIVE_SETTLE_TYPE = [
    {"name": "channelId", "type": "uint256"},
    {"name": "participant1", "type": "address"},
    {"name": "participant1Balance", "type": "uint256"},
    {"name": "participant2", "type": "address"},
    {"name": "participant2Balance", "type": "uint256"},
]


@dataclass(frozen=True)
class ProofDomain:
    """Where a proof is valid: one TokenNetwork on one chain."""

    chain_id: int
    token_network: ChecksumAddress

    def as_typed_data(self) -> dict[str, Any]:
        return {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": self.chain_id,
            "verifyingContract": self.token_network,
        }


def typed_data(
    message: BalanceProof | CooperativeSettlement, domain: ProofDomain
) -> dict[str, Any]:
    """The EIP-712 message TokenNetwork.sol hashes for a balance proof or final balances."""
    if isinstance(message, BalanceProof):
        return {
            "types": {"EIP712Domain": _DOMAIN_TYPE, "BalanceProof": _BALANCE_PROOF_TYPE},
            "primaryType": "BalanceProof",
            "domain": domain.as_typed_data(),
            "message": {
                "channelId": message.channel_id,
                "nonce": message.nonce,
                "transferredAmount": message.transferred_amount,
                "lockedAmount": message.locked_amount,
                "locksRoot": message.locks_root,
            },
        }
    return {
        "types": {"EIP712Domain": _DOMAIN_TYPE, "CooperativeSettle": _COOPERATIVE_SETTLE_TYPE},
        "primaryType": "CooperativeSettle",
        "domain": domain.as_typed_data(),
        "message": {
            "channelId": message.channel_id,
            "participant1": to_checksum_address(message.participant1),
            "participant1Balance": message.participant1_balance,
            "participant2": to_checksum_address(message.participant2),
            "participant2Balance": message.participant2_balance,
        },
    }


def sign(
    message: BalanceProof | CooperativeSettlement, domain: ProofDomain, signer: Signer
) -> bytes:
    return signer.sign_typed_data(typed_data(message, domain))


def recover_signer(
    message: BalanceProof | CooperativeSettlement, domain: ProofDomain, signature: bytes
) -> ChecksumAddress | None:
    """The address that signed `message`, or None if the signature is malformed."""
    if len(signature) != 65:
        return None
    signable = encode_typed_data(full_message=typed_data(message, domain))
    try:
        return to_checksum_address(Account.recover_message(signable, signature=signature))
    except (ValueError, TypeError, ValidationError):
        return None


def verify(
    message: BalanceProof | CooperativeSettlement,
    domain: ProofDomain,
    signature: bytes,
    expected_signer: str,
) -> None:
    """Raises InvalidProofSignature unless `expected_signer` signed `message` in `domain`."""
    recovered = recover_signer(message, domain, signature)
    if recovered is None or recovered != to_checksum_address(expected_signer):
        raise InvalidProofSignature(to_checksum_address(expected_signer), recovered)


__all__ = [
    "EMPTY_LOCKS_ROOT",
    "BalanceProof",
    "CooperativeSettlement",
    "InvalidProofSignature",
    "ProofDomain",
    "recover_signer",
    "sign",
    "typed_data",
    "verify",
]
