"""Differential test on Anvil: for generated balance proofs (valid, v as 0/1, the high-s twin,
every other v, wrong signers, zero and out-of-range r and s, wrong lengths, wrong domain), the
node's verdict — the claim message's checks, then `verify_proof_signature` — equals the
contract's, asked with `eth_call` of closeChannel, which recovers the signer through
Signatures.sol before it records the proof. Any proof the node accepts, the contract accepts.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from pydantic import ValidationError
from web3.exceptions import ContractLogicError

from adapters.evm.artifacts import default_out_dir
from adapters.evm.balance_proof import BalanceProof, InvalidProofSignature, ProofDomain, sign
from adapters.evm.chains import connect_rpc
from application.claim_messages import HALF_ORDER, SECP256K1_N, SignedProof
from application.claims import verify_proof_signature
from tests.support.evm_rail import Rail, build_rail

EMPTY_ROOT = b"\x00" * 32
DEPOSIT = 1_000


@dataclass(frozen=True)
class Case:
    name: str
    nonce: int
    transferred_amount: int
    signature: bytes


@pytest.fixture(scope="module")
def rail(anvil_url: str) -> Iterator[tuple[Rail, int]]:
    """Alice opened a channel with bob; both deposited. Bob is the receiver; alice signs."""
    built = build_rail(connect_rpc(anvil_url, 10), default_out_dir())
    yield built, built.open_funded(DEPOSIT, DEPOSIT)


def contract_accepts(rail: Rail, channel_id: int, case: Case) -> bool:
    """Bob closing with alice's proof: the call reverts unless the contract takes the proof."""
    close = rail.bob.network.contract.functions.closeChannel(
        channel_id, case.nonce, case.transferred_amount, 0, EMPTY_ROOT, case.signature
    )
    try:
        close.call({"from": rail.bob.network.our_address})
    except ContractLogicError:
        return False
    return True


def node_accepts(rail: Rail, channel_id: int, case: Case) -> bool:
    try:
        proof = SignedProof.model_validate(
            {
                "nonce": case.nonce,
                "transferred_amount": str(case.transferred_amount),
                "locks_root": "0x" + EMPTY_ROOT.hex(),
                "signature": "0x" + case.signature.hex(),
            }
        )
        verify_proof_signature(rail.bob.network, channel_id, proof, rail.alice.address)
    except (ValidationError, InvalidProofSignature):
        return False
    return True


def _rsv(signature: bytes) -> tuple[int, int, int]:
    return (
        int.from_bytes(signature[:32]),
        int.from_bytes(signature[32:64]),
        signature[64],
    )


def _pack(r: int, s: int, v: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])


def generated_cases(rail: Rail, channel_id: int, rng: random.Random) -> list[Case]:
    network = rail.alice.network
    cases: list[Case] = []
    for index in range(4):
        nonce = rng.choice([1, 2, 7, 2**64, 2**256 - 1]) if index else 1
        amount = rng.randrange(0, 2 * DEPOSIT + 1)
        proof = BalanceProof(channel_id, nonce, amount)
        good = network.sign_balance_proof(proof)
        r, s, v = _rsv(good)

        def add(
            name: str, signature: bytes, n: int = nonce, t: int = amount, i: int = index
        ) -> None:
            cases.append(Case(f"{name}#{i}", n, t, signature))

        add("valid", good)
        add("v as 0/1", _pack(r, s, v - 27))
        add("high-s twin", _pack(r, SECP256K1_N - s, 55 - v))
        add("high-s twin, v as 0/1", _pack(r, SECP256K1_N - s, 28 - v))
        for bad_v in (2, 26, 29, 30, 35, 36, 37, 38, 255):
            add(f"v={bad_v}", _pack(r, s, bad_v))
        add("flipped v", _pack(r, s, 55 - v))
        add("signed by mallory", rail.mallory.network.sign_balance_proof(proof))
        add("signed by the receiver", rail.bob.network.sign_balance_proof(proof))
        other = ProofDomain(network.domain.chain_id + 1, network.domain.token_network)
        add("another chain's domain", sign(proof, other, rail.alice.signer))
        add("another nonce", good, n=nonce - 1 if nonce > 1 else nonce + 1)
        add("another amount", good, t=amount + 1)
        add("zero signature", bytes(65))
        add("all ones", b"\xff" * 65)
        add("r = 0", _pack(0, s, v))
        add("s = 0", _pack(r, 0, v))
        add("r = n", _pack(SECP256K1_N, s, v))
        add("r = n + 1", _pack(SECP256K1_N + 1, s, v))
        add("s = n/2", _pack(r, HALF_ORDER, v))
        add("s = n/2 + 1", _pack(r, HALF_ORDER + 1, v))
        add("random r", _pack(rng.randrange(1, SECP256K1_N), s, v))
        add("random r and s", _pack(rng.randrange(1, SECP256K1_N), rng.randrange(1, HALF_ORDER), v))
        add("64 bytes", good[:64])
        add("66 bytes", good + b"\x00")
        add("empty", b"")
    return cases


def test_the_node_accepts_exactly_the_proofs_the_contract_accepts(
    rail: tuple[Rail, int],
) -> None:
    built, channel_id = rail
    cases = generated_cases(built, channel_id, random.Random(20261201))
    verdicts = {
        case.name: (
            node_accepts(built, channel_id, case),
            contract_accepts(built, channel_id, case),
        )
        for case in cases
    }

    disagreements = {name: v for name, v in verdicts.items() if v[0] != v[1]}
    assert disagreements == {}
    accepted = sorted(name for name, (node, _) in verdicts.items() if node)
    # The generator reaches both verdicts: every valid proof, in both spellings of v, passes.
    assert accepted == sorted(c.name for c in cases if c.name.startswith(("valid#", "v as 0/1#")))
