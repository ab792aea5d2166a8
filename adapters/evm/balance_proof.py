"""EIP-712 balance proofs and cooperative-settlement messages, as TokenNetwork.sol checks them.

The domain binds the chain id and the TokenNetwork address, so a proof signed for one
contract or chain is worthless on another.
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

DOMAIN_NAME = "SettlementLedgerTokenNetwork"
DOMAIN_VERSION = "1"
EMPTY_LOCKS_ROOT = b"\x00" * 32

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


@dataclass(frozen=True)
class BalanceProof:
    """What the signer has sent its partner so far: cumulative amounts, ordered by nonce."""

    channel_id: int
    nonce: int
    transferred_amount: int
    locked_amount: int = 0
    locks_root: bytes = EMPTY_LOCKS_ROOT

    def __post_init__(self) -> None:
        for field in ("channel_id", "nonce", "transferred_amount", "locked_amount"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**256:
                raise ValueError(f"balance proof {field}={value!r}: must be an int in uint256")
        if len(self.locks_root) != 32:
            raise ValueError(f"balance proof locks_root has {len(self.locks_root)} bytes, not 32")

    def typed_data(self, domain: ProofDomain) -> dict[str, Any]:
        return {
            "types": {"EIP712Domain": _DOMAIN_TYPE, "BalanceProof": _BALANCE_PROOF_TYPE},
            "primaryType": "BalanceProof",
            "domain": domain.as_typed_data(),
            "message": {
                "channelId": self.channel_id,
                "nonce": self.nonce,
                "transferredAmount": self.transferred_amount,
                "lockedAmount": self.locked_amount,
                "locksRoot": self.locks_root,
            },
        }


@dataclass(frozen=True)
class CooperativeSettlement:
    """The final balances both participants sign to end a channel without a dispute."""

    channel_id: int
    participant1: ChecksumAddress
    participant1_balance: int
    participant2: ChecksumAddress
    participant2_balance: int

    def typed_data(self, domain: ProofDomain) -> dict[str, Any]:
        return {
            "types": {"EIP712Domain": _DOMAIN_TYPE, "CooperativeSettle": _COOPERATIVE_SETTLE_TYPE},
            "primaryType": "CooperativeSettle",
            "domain": domain.as_typed_data(),
            "message": {
                "channelId": self.channel_id,
                "participant1": self.participant1,
                "participant1Balance": self.participant1_balance,
                "participant2": self.participant2,
                "participant2Balance": self.participant2_balance,
            },
        }


class InvalidProofSignature(Exception):
    """The signature does not come from `expected_signer` (it recovers to `recovered_signer`)."""

    def __init__(self, expected_signer: str, recovered_signer: str | None) -> None:
        self.expected_signer = expected_signer
        self.recovered_signer = recovered_signer
        super().__init__(
            f"signature: expected signer {expected_signer}, recovered {recovered_signer}"
        )


def sign(
    message: BalanceProof | CooperativeSettlement, domain: ProofDomain, signer: Signer
) -> bytes:
    return signer.sign_typed_data(message.typed_data(domain))


def recover_signer(
    message: BalanceProof | CooperativeSettlement, domain: ProofDomain, signature: bytes
) -> ChecksumAddress | None:
    """The address that signed `message`, or None if the signature is malformed."""
    if len(signature) != 65:
        return None
    signable = encode_typed_data(full_message=message.typed_data(domain))
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
