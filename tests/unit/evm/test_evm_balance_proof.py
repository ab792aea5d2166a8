"""EIP-712 balance proofs: signed through the signer port, verified against the right signer,
and bound to one chain id and one TokenNetwork address."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_utils import keccak

from adapters.evm.balance_proof import (
    BalanceProof,
    CooperativeSettlement,
    InvalidProofSignature,
    ProofDomain,
    recover_signer,
    sign,
    verify,
)
from adapters.signing import LocalKeySigner

DOMAIN = ProofDomain(chain_id=31337, token_network="0x5FbDB2315678afecb367f032d93F642f64180aa3")  # type: ignore[arg-type]


@pytest.fixture
def signer() -> LocalKeySigner:
    return LocalKeySigner(Account.create())


def test_a_signed_proof_verifies_against_its_signer(signer: LocalKeySigner) -> None:
    proof = BalanceProof(channel_id=1, nonce=3, transferred_amount=250, locked_amount=5)
    signature = sign(proof, DOMAIN, signer)
    assert len(signature) == 65
    assert recover_signer(proof, DOMAIN, signature) == signer.address
    verify(proof, DOMAIN, signature, signer.address.lower())


@pytest.mark.parametrize(
    "changed",
    [
        BalanceProof(channel_id=2, nonce=3, transferred_amount=250),
        BalanceProof(channel_id=1, nonce=4, transferred_amount=250),
        BalanceProof(channel_id=1, nonce=3, transferred_amount=251),
        BalanceProof(channel_id=1, nonce=3, transferred_amount=250, locked_amount=1),
        BalanceProof(channel_id=1, nonce=3, transferred_amount=250, locks_root=keccak(b"x")),
    ],
)
def test_any_changed_field_breaks_the_signature(
    signer: LocalKeySigner, changed: BalanceProof
) -> None:
    signature = sign(BalanceProof(channel_id=1, nonce=3, transferred_amount=250), DOMAIN, signer)
    with pytest.raises(InvalidProofSignature) as caught:
        verify(changed, DOMAIN, signature, signer.address)
    assert caught.value.recovered_signer != signer.address


@pytest.mark.parametrize(
    "other",
    [
        ProofDomain(chain_id=1, token_network=DOMAIN.token_network),
        ProofDomain(chain_id=31337, token_network="0x" + "11" * 20),  # type: ignore[arg-type]
    ],
)
def test_a_proof_is_bound_to_one_chain_and_contract(
    signer: LocalKeySigner, other: ProofDomain
) -> None:
    proof = BalanceProof(channel_id=1, nonce=1, transferred_amount=10)
    with pytest.raises(InvalidProofSignature):
        verify(proof, other, sign(proof, DOMAIN, signer), signer.address)


def test_a_signature_from_someone_else_is_rejected_naming_both(signer: LocalKeySigner) -> None:
    proof = BalanceProof(channel_id=1, nonce=1, transferred_amount=10)
    stranger = LocalKeySigner(Account.create())
    with pytest.raises(InvalidProofSignature) as caught:
        verify(proof, DOMAIN, sign(proof, DOMAIN, stranger), signer.address)
    assert caught.value.expected_signer == signer.address
    assert caught.value.recovered_signer == stranger.address


def test_a_malformed_signature_is_rejected(signer: LocalKeySigner) -> None:
    proof = BalanceProof(channel_id=1, nonce=1, transferred_amount=10)
    with pytest.raises(InvalidProofSignature) as caught:
        verify(proof, DOMAIN, b"\x01" * 10, signer.address)
    assert caught.value.recovered_signer is None


def test_cooperative_settlement_signatures_bind_both_balances(signer: LocalKeySigner) -> None:
    other = LocalKeySigner(Account.create())
    final = CooperativeSettlement(1, signer.address, 70, other.address, 80)
    signature = sign(final, DOMAIN, signer)
    verify(final, DOMAIN, signature, signer.address)
    swapped = CooperativeSettlement(1, signer.address, 80, other.address, 70)
    with pytest.raises(InvalidProofSignature):
        verify(swapped, DOMAIN, signature, signer.address)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"channel_id": -1, "nonce": 1, "transferred_amount": 0}, "channel_id"),
        ({"channel_id": 1, "nonce": 1, "transferred_amount": 2**256}, "transferred_amount"),
        ({"channel_id": 1, "nonce": 1, "transferred_amount": 0, "locks_root": b"x"}, "locks_root"),
    ],
)
def test_out_of_range_fields_are_refused_by_name(fields: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        BalanceProof(**fields)  # type: ignore[arg-type]
