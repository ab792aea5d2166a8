"""The claim messages two nodes exchange, as strict pydantic models with snake_case JSON fields.

Amounts travel as decimal strings because a uint256 does not fit a JSON number safely; each
model exposes the amounts as ints (`*_int` properties) so callers never parse them by hand.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

MAX_UINT256 = 2**256 - 1
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
# The largest `s` Signatures.sol takes (EIP-2): the high-s twin of a signature is refused there.
HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0

_ADDRESS = r"^0x[0-9a-fA-F]{40}$"
_VISIBLE_ASCII = r"^[\x21-\x7e]+$"


def _check_uint256_text(text: str) -> str:
    if int(text) > MAX_UINT256:
        raise ValueError("exceeds 2**256-1")
    return text


def _check_positive_text(text: str) -> str:
    if int(text) == 0:
        raise ValueError("must be greater than 0")
    return text


def _check_signature(text: str) -> str:
    """What `Signatures.recover` accepts: 65 bytes r || s || v, v in {0, 1, 27, 28} (0 and 1
    are read as 27 and 28), s in the lower half of the curve order; r and s outside 1..n-1 make
    ecrecover fail, so the contract never accepts them either."""
    raw = bytes.fromhex(text[2:])
    r, s, v = int.from_bytes(raw[:32]), int.from_bytes(raw[32:64]), raw[64]
    if v not in (0, 1, 27, 28):
        raise ValueError(f"v (the last byte) is {v}; the contract takes 0, 1, 27 or 28")
    if not 0 < s <= HALF_ORDER:
        raise ValueError("s must be in 1..n/2 (low-s, EIP-2); the contract refuses the high-s twin")
    if not 0 < r < SECP256K1_N:
        raise ValueError("r must be in 1..n-1 (the secp256k1 order)")
    return text


# A non-negative decimal integer without sign, spaces or leading zeros; at most 78 digits (2**256).
Uint256Text = Annotated[
    str,
    Field(pattern=r"^(0|[1-9][0-9]*)$", max_length=78),
    AfterValidator(_check_uint256_text),
]
PositiveUint256Text = Annotated[Uint256Text, AfterValidator(_check_positive_text)]
Address = Annotated[str, Field(pattern=_ADDRESS)]
Uint256 = Annotated[int, Field(ge=0, le=MAX_UINT256)]
# 65 bytes as 0x-prefixed hex, range-checked as the contract checks it.
Signature = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{130}$"), AfterValidator(_check_signature)]


class RejectionCode(StrEnum):
    """The `error` codes a receiver answers with; peers may send codes not listed here."""

    STALE_PROOF = "stale_proof"
    RETRY_LATER = "retry_later"  # valid as far as the receiver can tell yet; send it again later
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_CHANNEL = "unknown_channel"
    WRONG_CHAIN = "wrong_chain"
    INVALID = "invalid"
    CONFLICT = "conflict"  # the claim id was received before with a different body
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    PAUSED = "paused"
    UNAUTHORIZED = "unauthorized"
    NOT_FOUND = "not_found"
    TOO_LARGE = "too_large"
    INTERNAL = "internal"


class _Message(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class ChannelRef(_Message):
    """Which channel a proof belongs to: chain, token network contract and on-chain channel id."""

    chain_id: int = Field(gt=0, le=MAX_UINT256)
    token_network: Address
    onchain_id: int = Field(gt=0, le=MAX_UINT256)


class SignedProof(_Message):
    """A balance proof as signed by the sender (cumulative amounts, monotonic nonce)."""

    nonce: int = Field(ge=1, le=MAX_UINT256)
    transferred_amount: Uint256Text
    locked_amount: Uint256Text = "0"
    locks_root: str = Field(pattern=r"^0x[0-9a-fA-F]{64}$")
    signature: Signature

    @property
    def transferred_amount_int(self) -> int:
        return int(self.transferred_amount)

    @property
    def locked_amount_int(self) -> int:
        return int(self.locked_amount)


class CooperativeTerms(_Message):
    """Final balances that end the channel on chain (cooperativeSettle), signed by the sender;
    the receiver signs the same terms back if they match its own view of the channel."""

    participant1: Address
    participant1_balance: Uint256Text
    participant2: Address
    participant2_balance: Uint256Text
    signature: Signature


class Claim(_Message):
    """A signed balance proof sent to a peer, paying `amount` more than the previous claim."""

    claim_id: str = Field(min_length=1, max_length=128, pattern=_VISIBLE_ASCII)
    sender_node: str = Field(min_length=1, max_length=128, pattern=_VISIBLE_ASCII)
    sender_address: Address
    asset_code: str = Field(min_length=1, max_length=16, pattern=_VISIBLE_ASCII)
    asset_scale: int = Field(ge=0, le=38)
    amount: PositiveUint256Text
    channel: ChannelRef
    proof: SignedProof
    cooperative_settle: CooperativeTerms | None = None

    @property
    def amount_int(self) -> int:
        """The increment this claim pays, in the asset's minor units."""
        return int(self.amount)

    def fingerprint(self) -> str:
        """The sha256 of the claim as canonical JSON (sorted keys, no spaces, defaults filled in):
        two bodies that mean the same claim have one fingerprint, whatever their spelling."""
        canonical = json.dumps(
            self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=True
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


class ClaimAccepted(_Message):
    """The receiver credited the claim (`accepted`) or had already credited it (`duplicate`)."""

    claim_id: str
    status: Literal["accepted", "duplicate"]
    receipt: str
    cooperative_signature: str | None = None


class ClaimRejected(_Message):
    """The receiver refused the claim (or the request); `error` is a code, `detail` for people."""

    claim_id: str | None
    error: str = Field(min_length=1)
    detail: str


def describe_validation_error(error: ValidationError) -> str:
    """One problem per clause, each naming its field path, e.g. `proof.signature: ...`."""
    lines = []
    for problem in error.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in problem["loc"]) or "body"
        lines.append(f"{field}: {problem['msg']}")
    return "; ".join(lines)
