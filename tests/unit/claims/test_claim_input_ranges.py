"""Every claim field is range-checked as the contract checks it, naming the field; a claim that
passes the checks never makes the signature check raise anything but InvalidProofSignature."""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_account import Account
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from adapters.evm import balance_proof
from adapters.evm.balance_proof import BalanceProof, InvalidProofSignature, ProofDomain
from application.claim_messages import (
    HALF_ORDER,
    MAX_UINT256,
    SECP256K1_N,
    Claim,
    describe_validation_error,
)
from application.claims import verify_proof_signature
from tests.unit.claims.test_claim_messages import claim_document

DOMAIN = ProofDomain(31337, "0x" + "Ab" * 20)  # type: ignore[arg-type]
PARTNER = Account.create()


class _Network:
    """Stands in for the TokenNetworkClient: the same check, in a fixed domain."""

    def verify_partner_proof(self, proof: BalanceProof, signature: bytes, partner: str) -> None:
        balance_proof.verify(proof, DOMAIN, signature, partner)


def signature(r: int, s: int, v: int) -> str:
    return "0x" + (r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])).hex()


def problem(**overrides: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        Claim.model_validate_json(json.dumps(claim_document(**overrides)))
    return describe_validation_error(caught.value)


@pytest.mark.parametrize(
    ("r", "s", "v", "why"),
    [
        (0, 1, 27, "r must be in 1..n-1"),
        (SECP256K1_N, 1, 27, "r must be in 1..n-1"),
        (1, 0, 27, "s must be in 1..n/2"),
        (1, HALF_ORDER + 1, 27, "s must be in 1..n/2"),
        (1, SECP256K1_N - 1, 28, "s must be in 1..n/2"),
        (1, 1, 2, "v (the last byte) is 2"),
        (1, 1, 29, "v (the last byte) is 29"),
        (1, 1, 37, "v (the last byte) is 37"),
    ],
)
def test_signatures_the_contract_refuses_are_refused_naming_the_field(
    r: int, s: int, v: int, why: str
) -> None:
    detail = problem(proof__signature=signature(r, s, v))
    assert detail.startswith("proof.signature: ") and why in detail


@pytest.mark.parametrize("v", [0, 1, 27, 28])
def test_every_v_the_contract_normalizes_is_taken(v: int) -> None:
    document = claim_document(proof__signature=signature(1, HALF_ORDER, v))
    assert Claim.model_validate(document).proof.signature.endswith(f"{v:02x}")


def test_an_all_zero_signature_is_refused_as_input() -> None:
    assert problem(proof__signature="0x" + "00" * 65).startswith("proof.signature: ")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("proof__nonce", MAX_UINT256 + 1),
        ("channel__chain_id", MAX_UINT256 + 1),
        ("channel__onchain_id", MAX_UINT256 + 1),
        ("channel__onchain_id", 0),
    ],
)
def test_integers_beyond_uint256_are_refused_naming_the_field(field: str, value: int) -> None:
    assert problem(**{field: value}).startswith(field.replace("__", ".") + ": ")


def test_the_largest_uint256_nonce_is_taken() -> None:
    document = claim_document(proof__nonce=MAX_UINT256)
    assert Claim.model_validate_json(json.dumps(document)).proof.nonce == MAX_UINT256


def test_the_fingerprint_is_of_the_meaning_not_the_spelling() -> None:
    document = claim_document(proof__locked_amount="0")
    spelled_otherwise = json.dumps(dict(reversed(list(document.items()))), indent=3)
    without_default = claim_document()
    del without_default["proof"]["locked_amount"]
    fingerprints = {
        Claim.model_validate_json(text).fingerprint()
        for text in (json.dumps(document), spelled_otherwise, json.dumps(without_default))
    }
    assert len(fingerprints) == 1
    changed = Claim.model_validate(claim_document(amount="2501")).fingerprint()
    assert changed not in fingerprints


_uint256 = st.one_of(st.integers(0, 2**64), st.integers(0, MAX_UINT256))


@settings(
    max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    nonce=st.one_of(_uint256, st.integers(-5, 0), st.integers(MAX_UINT256, MAX_UINT256 + 5)),
    transferred=_uint256,
    raw=st.binary(min_size=65, max_size=65),
    r=st.one_of(st.just(0), st.integers(1, SECP256K1_N - 1), st.integers(SECP256K1_N, 2**256 - 1)),
    s=st.one_of(st.integers(1, HALF_ORDER), st.integers(0, 2**256 - 1)),
    v=st.one_of(st.sampled_from([0, 1, 27, 28]), st.integers(0, 255)),
    structured=st.booleans(),
)
# r = 5 is no point's x coordinate: the recovery library raises where ecrecover answers 0.
@example(nonce=1, transferred=0, raw=bytes(65), r=5, s=1, v=27, structured=True)
def test_any_claim_that_passes_the_checks_is_verified_without_an_unexpected_error(
    nonce: int, transferred: int, raw: bytes, r: int, s: int, v: int, structured: bool
) -> None:
    text = signature(r, s, v) if structured else "0x" + raw.hex()
    document = claim_document(
        proof__nonce=nonce, proof__transferred_amount=str(transferred), proof__signature=text
    )
    try:
        claim = Claim.model_validate_json(json.dumps(document))
    except ValidationError:
        return
    with pytest.raises(InvalidProofSignature):
        verify_proof_signature(_Network(), 7, claim.proof, PARTNER.address)  # type: ignore[arg-type]
