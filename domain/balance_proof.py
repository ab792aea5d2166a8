"""Balance proofs: what a participant has sent its partner on a channel, as both sides sign it.

Pure values (cumulative amounts ordered by nonce); how they are encoded and signed for a chain is
the EVM adapter's business (`adapters/evm/balance_proof.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

EMPTY_LOCKS_ROOT = b"\x00" * 32
UINT256_LIMIT = 2**256


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
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"balance proof {field}={value!r}: must be an int in uint256")
            if not 0 <= value < UINT256_LIMIT:
                raise ValueError(f"balance proof {field}={value!r}: must be an int in uint256")
        if len(self.locks_root) != 32:
            raise ValueError(f"balance proof locks_root has {len(self.locks_root)} bytes, not 32")


class InvalidProofSignature(Exception):
    """The signature does not come from `expected_signer` (it recovers to `recovered_signer`)."""

    def __init__(self, expected_signer: str, recovered_signer: str | None) -> None:
        self.expected_signer = expected_signer
        self.recovered_signer = recovered_signer
        super().__init__(
            f"signature: expected signer {expected_signer}, recovered {recovered_signer}"
        )
