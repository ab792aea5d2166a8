"""Every rule TokenNetwork enforces, hit through the adapter on Anvil: the revert comes back
classified, with the contract's error name and facts decoded, and nothing is signed or sent."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from adapters.evm import balance_proof
from adapters.evm.balance_proof import (
    BalanceProof,
    CooperativeSettlement,
    InvalidProofSignature,
    ProofDomain,
)
from adapters.evm.chains import advance_time
from adapters.evm.errors import (
    ChallengePeriodNotOver,
    ChannelDisputed,
    ChannelNotOpen,
    ChannelStillOpen,
    Reverted,
)
from adapters.evm.transactions import SignedTransaction
from tests.support.evm_rail import SETTLE_TIMEOUT, Rail


def rejected(prepare: Callable[[], SignedTransaction]) -> Reverted:
    with pytest.raises(Reverted) as caught:
        prepare()
    return caught.value


def close_by_alice(rail: Rail, channel_id: int, nonce: int = 1, amount: int = 10) -> None:
    proof = BalanceProof(channel_id, nonce, amount)
    rail.alice.network.execute(
        rail.alice.network.prepare_close(
            channel_id, proof, rail.bob.network.sign_balance_proof(proof)
        )
    )


def settlement_signatures(
    rail: Rail, final: CooperativeSettlement, second_signer_network: object | None = None
) -> tuple[bytes, bytes]:
    second = second_signer_network or rail.bob.network
    return (
        rail.alice.network.sign_cooperative_settlement(final),
        second.sign_cooperative_settlement(final),  # type: ignore[attr-defined]
    )


def test_open_rejects_bad_participants_timeouts_and_a_second_channel(rail: Rail) -> None:
    network = rail.alice.network
    error = rejected(lambda: network.prepare_open_channel(rail.alice.address, SETTLE_TIMEOUT))
    assert error.error_name == "InvalidParticipants"
    error = rejected(lambda: network.prepare_open_channel(rail.bob.address, 59))
    assert error.error_name == "SettleTimeoutOutOfRange"
    assert error.arguments["settleTimeout"] == 59
    channel_id = rail.open_funded(0, 0)
    error = rejected(lambda: network.prepare_open_channel(rail.bob.address, SETTLE_TIMEOUT))
    assert (error.error_name, error.arguments["channelId"]) == ("ChannelAlreadyOpen", channel_id)


def test_deposit_rejects_non_increasing_totals_outsiders_and_missing_allowance(rail: Rail) -> None:
    channel_id = rail.open_funded(100, 0)
    nonce_before = rail.web3.eth.get_transaction_count(rail.alice.address)
    error = rejected(lambda: rail.alice.network.prepare_set_total_deposit(channel_id, 100))
    assert error.error_name == "DepositNotIncreasing"
    assert error.arguments == {"currentTotal": 100, "requestedTotal": 100}
    assert error.retryable is False
    assert rail.web3.eth.get_transaction_count(rail.alice.address) == nonce_before

    error = rejected(lambda: rail.mallory.network.prepare_set_total_deposit(channel_id, 10))
    assert error.error_name == "NotParticipant"

    rail.bob.network.execute(rail.bob.token.prepare_approve(rail.token_network_address, 5))
    error = rejected(lambda: rail.bob.network.prepare_set_total_deposit(channel_id, 10))
    assert error.error_name == "TokenTransferFailed"


def test_deposit_rejects_unknown_closed_and_settled_channels(rail: Rail) -> None:
    error = rejected(lambda: rail.alice.network.prepare_set_total_deposit(99, 10))
    assert isinstance(error, ChannelNotOpen)
    channel_id = rail.open_funded(100, 100)
    close_by_alice(rail, channel_id)
    error = rejected(lambda: rail.alice.network.prepare_set_total_deposit(channel_id, 200))
    assert isinstance(error, ChannelDisputed)
    assert (error.channel_id, error.alert) == (channel_id, False)
    advance_time(rail.web3, SETTLE_TIMEOUT + 1)
    rail.alice.network.execute(rail.alice.network.prepare_settle(channel_id))
    error = rejected(lambda: rail.alice.network.prepare_set_total_deposit(channel_id, 200))
    assert isinstance(error, ChannelNotOpen)


def test_cooperative_settle_rejects_wrong_sums_signers_domains_and_states(rail: Rail) -> None:
    channel_id = rail.open_funded(100, 50)
    network = rail.bob.network

    wrong_sum = CooperativeSettlement(channel_id, rail.alice.address, 100, rail.bob.address, 51)
    error = rejected(
        lambda: network.prepare_cooperative_settle(
            wrong_sum, *settlement_signatures(rail, wrong_sum)
        )
    )
    assert error.arguments == {"balances": 151, "totalDeposit": 150}

    final = CooperativeSettlement(channel_id, rail.alice.address, 0, rail.bob.address, 150)
    alice_signature, mallory_signature = settlement_signatures(rail, final, rail.mallory.network)
    error = rejected(
        lambda: network.prepare_cooperative_settle(final, alice_signature, mallory_signature)
    )
    assert error.error_name == "InvalidSignature"
    assert error.arguments == {
        "expectedSigner": rail.bob.address,
        "recoveredSigner": rail.mallory.address,
    }

    elsewhere = ProofDomain(rail.alice.network.domain.chain_id, rail.token_address)  # type: ignore[arg-type]
    foreign = (
        balance_proof.sign(final, elsewhere, rail.alice.signer),
        balance_proof.sign(final, elsewhere, rail.bob.signer),
    )
    error = rejected(lambda: network.prepare_cooperative_settle(final, *foreign))
    assert error.error_name == "InvalidSignature"

    signatures = settlement_signatures(rail, final)
    close_by_alice(rail, channel_id)
    error = rejected(lambda: network.prepare_cooperative_settle(final, *signatures))
    assert isinstance(error, ChannelDisputed)


def test_cooperative_settle_cannot_be_replayed(rail: Rail) -> None:
    channel_id = rail.open_funded(100, 50)
    final = CooperativeSettlement(channel_id, rail.alice.address, 70, rail.bob.address, 80)
    signatures = settlement_signatures(rail, final)
    rail.bob.network.execute(rail.bob.network.prepare_cooperative_settle(final, *signatures))
    error = rejected(lambda: rail.alice.network.prepare_cooperative_settle(final, *signatures))
    assert isinstance(error, ChannelNotOpen)
    assert error.arguments["state"] == 3


def test_close_rejects_proofs_not_signed_by_the_partner(rail: Rail) -> None:
    channel_id = rail.open_funded(100, 100)
    proof = BalanceProof(channel_id, 1, 10)
    for wrong_signer in (rail.alice, rail.mallory):
        signature = wrong_signer.network.sign_balance_proof(proof)
        error = rejected(lambda s=signature: rail.alice.network.prepare_close(channel_id, proof, s))
        assert error.arguments == {
            "expectedSigner": rail.bob.address,
            "recoveredSigner": wrong_signer.address,
        }


def test_close_rejects_outsiders_overdrafts_other_channels_and_a_second_close(rail: Rail) -> None:
    channel_id = rail.open_funded(100, 50)
    proof = BalanceProof(channel_id, 1, 10)
    signature = rail.bob.network.sign_balance_proof(proof)
    error = rejected(lambda: rail.mallory.network.prepare_close(channel_id, proof, signature))
    assert error.error_name == "NotParticipant"

    overdraft = BalanceProof(channel_id, 1, 140, locked_amount=11)
    overdraft_signature = rail.bob.network.sign_balance_proof(overdraft)
    error = rejected(
        lambda: rail.alice.network.prepare_close(channel_id, overdraft, overdraft_signature)
    )
    assert error.error_name == "TransferExceedsDeposits"
    assert error.arguments == {"transferredAndLocked": 151, "totalDeposit": 150}

    other_channel = BalanceProof(channel_id + 1, 1, 10)
    moved = BalanceProof(channel_id, 1, 10)
    other_signature = rail.bob.network.sign_balance_proof(other_channel)
    error = rejected(lambda: rail.alice.network.prepare_close(channel_id, moved, other_signature))
    assert error.error_name == "InvalidSignature"

    close_by_alice(rail, channel_id)
    error = rejected(lambda: rail.bob.network.prepare_close(channel_id, None))
    assert isinstance(error, ChannelDisputed)


def test_update_rejects_replayed_and_lower_nonces(rail: Rail) -> None:
    channel_id = rail.open_funded(100, 100)
    close_by_alice(rail, channel_id)
    five = BalanceProof(channel_id, 5, 45)
    five_signature = rail.alice.network.sign_balance_proof(five)
    rail.bob.network.execute(rail.bob.network.prepare_update(channel_id, five, five_signature))
    error = rejected(lambda: rail.bob.network.prepare_update(channel_id, five, five_signature))
    assert error.arguments == {"storedNonce": 5, "submittedNonce": 5}
    four = BalanceProof(channel_id, 4, 40)
    four_signature = rail.alice.network.sign_balance_proof(four)
    error = rejected(lambda: rail.bob.network.prepare_update(channel_id, four, four_signature))
    assert error.arguments == {"storedNonce": 5, "submittedNonce": 4}


def test_update_rejects_the_closer_other_signers_overdrafts_and_open_channels(rail: Rail) -> None:
    channel_id = rail.open_funded(100, 50)
    proof = BalanceProof(channel_id, 2, 20)
    alice_signature = rail.alice.network.sign_balance_proof(proof)
    error = rejected(lambda: rail.bob.network.prepare_update(channel_id, proof, alice_signature))
    assert isinstance(error, ChannelStillOpen)

    close_by_alice(rail, channel_id)
    error = rejected(lambda: rail.alice.network.prepare_update(channel_id, proof, alice_signature))
    assert error.error_name == "NotNonClosingParticipant"
    bob_signature = rail.bob.network.sign_balance_proof(proof)
    error = rejected(lambda: rail.bob.network.prepare_update(channel_id, proof, bob_signature))
    assert error.arguments["expectedSigner"] == rail.alice.address
    overdraft = BalanceProof(channel_id, 3, 151)
    overdraft_signature = rail.alice.network.sign_balance_proof(overdraft)
    error = rejected(
        lambda: rail.bob.network.prepare_update(channel_id, overdraft, overdraft_signature)
    )
    assert error.error_name == "TransferExceedsDeposits"


def test_update_rejects_after_the_challenge_period(rail: Rail) -> None:
    channel_id = rail.open_funded(100, 100)
    close_by_alice(rail, channel_id)
    advance_time(rail.web3, SETTLE_TIMEOUT + 1)
    proof = BalanceProof(channel_id, 2, 20)
    signature = rail.alice.network.sign_balance_proof(proof)
    error = rejected(lambda: rail.bob.network.prepare_update(channel_id, proof, signature))
    assert error.error_name == "ChallengePeriodOver"


def test_settle_rejects_early_open_and_already_settled_channels(rail: Rail) -> None:
    channel_id = rail.open_funded(100, 100)
    error = rejected(lambda: rail.bob.network.prepare_settle(channel_id))
    assert isinstance(error, ChannelStillOpen)
    close_by_alice(rail, channel_id)
    error = rejected(lambda: rail.bob.network.prepare_settle(channel_id))
    assert isinstance(error, ChallengePeriodNotOver)
    assert error.retryable is True
    assert error.settle_after == rail.bob.network.channel(channel_id).settle_after
    advance_time(rail.web3, SETTLE_TIMEOUT + 1)
    rail.bob.network.execute(rail.bob.network.prepare_settle(channel_id))
    error = rejected(lambda: rail.bob.network.prepare_settle(channel_id))
    assert isinstance(error, ChannelNotOpen)


def test_off_chain_verification_rejects_other_signers_and_other_chains(rail: Rail) -> None:
    channel_id = rail.open_funded(100, 100)
    proof = BalanceProof(channel_id, 1, 10)
    signature = rail.mallory.network.sign_balance_proof(proof)
    with pytest.raises(InvalidProofSignature) as caught:
        rail.alice.network.verify_partner_proof(proof, signature, rail.bob.address)
    assert caught.value.recovered_signer == rail.mallory.address
    domain = rail.bob.network.domain
    other_chain = ProofDomain(domain.chain_id + 1, domain.token_network)
    foreign = balance_proof.sign(proof, other_chain, rail.bob.signer)
    with pytest.raises(InvalidProofSignature):
        rail.alice.network.verify_partner_proof(proof, foreign, rail.bob.address)
