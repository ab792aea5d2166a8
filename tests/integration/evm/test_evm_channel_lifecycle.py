"""A channel's life on Anvil through the adapter: open, deposit, proofs, and both ways to end."""

from __future__ import annotations

from adapters.evm.balance_proof import BalanceProof, CooperativeSettlement
from adapters.evm.chains import advance_time
from adapters.evm.errors import OnchainChannelState
from tests.support.evm_rail import SETTLE_TIMEOUT, TOKENS_EACH, Rail


def test_open_deposit_and_top_up_move_exactly_the_totals(rail: Rail) -> None:
    channel_id = rail.open_funded(100, 0)
    rail.alice.network.execute(rail.alice.network.prepare_set_total_deposit(channel_id, 250))
    rail.bob.network.execute(rail.bob.network.prepare_set_total_deposit(channel_id, 40))

    channel = rail.alice.network.channel(channel_id)
    assert channel.state == OnchainChannelState.OPENED
    assert (channel.participant1, channel.participant2) == (rail.alice.address, rail.bob.address)
    assert channel.settle_timeout == SETTLE_TIMEOUT
    assert rail.alice.network.participant(channel_id, rail.alice.address).deposit == 250
    assert rail.alice.network.participant(channel_id, rail.bob.address).deposit == 40
    assert rail.alice.token.balance_of(rail.alice.address) == TOKENS_EACH - 250
    assert rail.alice.token.balance_of(rail.token_network_address) == 290
    assert rail.alice.network.open_channel_with(rail.bob.address) == channel_id


def test_off_chain_proofs_then_cooperative_settle_pay_the_signed_balances(rail: Rail) -> None:
    channel_id = rail.open_funded(100, 50)
    # Off-chain: alice pays bob 30 over two proofs, bob pays alice 5; each verifies the other's.
    for nonce, amount in ((1, 10), (2, 30)):
        proof = BalanceProof(channel_id, nonce, amount)
        signature = rail.alice.network.sign_balance_proof(proof)
        rail.bob.network.verify_partner_proof(proof, signature, rail.alice.address)
    bob_proof = BalanceProof(channel_id, 1, 5)
    rail.alice.network.verify_partner_proof(
        bob_proof, rail.bob.network.sign_balance_proof(bob_proof), rail.bob.address
    )
    final = CooperativeSettlement(
        channel_id, rail.alice.address, 100 - 30 + 5, rail.bob.address, 50 + 30 - 5
    )
    alice_signature = rail.alice.network.sign_cooperative_settlement(final)
    bob_signature = rail.bob.network.sign_cooperative_settlement(final)
    rail.bob.network.verify_cooperative_settlement(final, alice_signature, rail.alice.address)

    rail.bob.network.execute(
        rail.bob.network.prepare_cooperative_settle(final, alice_signature, bob_signature)
    )

    assert rail.alice.token.balance_of(rail.alice.address) == TOKENS_EACH - 100 + 75
    assert rail.alice.token.balance_of(rail.bob.address) == TOKENS_EACH - 50 + 75
    assert rail.alice.token.balance_of(rail.token_network_address) == 0
    assert rail.alice.network.channel(channel_id).state == OnchainChannelState.SETTLED
    assert rail.alice.network.open_channel_with(rail.bob.address) is None


def test_unilateral_close_update_and_settle_pay_from_the_latest_proofs(rail: Rail) -> None:
    channel_id = rail.open_funded(100, 50)
    bob_proof = BalanceProof(channel_id, 4, 30, locked_amount=5, locks_root=b"\x11" * 32)
    alice_old = BalanceProof(channel_id, 2, 20)
    alice_latest = BalanceProof(channel_id, 7, 70)
    alice_old_signature = rail.alice.network.sign_balance_proof(alice_old)
    alice_latest_signature = rail.alice.network.sign_balance_proof(alice_latest)

    # Alice closes with bob's proof; bob answers with alice's proofs, the higher nonce winning.
    rail.alice.network.execute(
        rail.alice.network.prepare_close(
            channel_id, bob_proof, rail.bob.network.sign_balance_proof(bob_proof)
        )
    )
    rail.bob.network.execute(
        rail.bob.network.prepare_update(channel_id, alice_old, alice_old_signature)
    )
    rail.bob.network.execute(
        rail.bob.network.prepare_update(channel_id, alice_latest, alice_latest_signature)
    )
    closed = rail.bob.network.channel(channel_id)
    assert closed.state == OnchainChannelState.CLOSED
    assert closed.closer == rail.alice.address
    recorded = rail.bob.network.participant(channel_id, rail.alice.address)
    assert (recorded.nonce, recorded.transferred_amount) == (7, 70)
    assert rail.bob.network.participant(channel_id, rail.bob.address).locked_amount == 5

    advance_time(rail.web3, SETTLE_TIMEOUT + 1)
    rail.mallory.network.execute(rail.mallory.network.prepare_settle(channel_id))

    # alice: 100 - 70 + 30 = 60; bob: 50 - 30 + 70 = 90 (locked amounts stay with their sender)
    assert rail.alice.token.balance_of(rail.alice.address) == TOKENS_EACH - 100 + 60
    assert rail.alice.token.balance_of(rail.bob.address) == TOKENS_EACH - 50 + 90
    assert rail.alice.token.balance_of(rail.token_network_address) == 0
    assert rail.alice.network.channel(channel_id).state == OnchainChannelState.SETTLED
