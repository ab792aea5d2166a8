"""The same compiled contracts and adapter on the in-process eth-tester (py-evm) chain."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account

from adapters.evm.balance_proof import BalanceProof, CooperativeSettlement
from adapters.evm.chains import advance_time, start_eth_tester
from adapters.evm.errors import ChallengePeriodNotOver, OnchainChannelState
from adapters.evm.settings import ChainSettings
from adapters.evm.watcher import ChainWatcher
from adapters.signing import KeystoreSigner, SignerUnavailable
from adapters.signing.configured import load_signer
from tests.support.evm_rail import SETTLE_TIMEOUT, TOKENS_EACH, build_rail


def test_cooperative_and_unilateral_flows_run_on_eth_tester(contracts_out: Path) -> None:
    rail = build_rail(start_eth_tester(), contracts_out)
    alice, bob = rail.alice.network, rail.bob.network

    first = rail.open_funded(100, 50)
    alice.execute(alice.prepare_set_total_deposit(first, 120))
    final = CooperativeSettlement(first, rail.alice.address, 90, rail.bob.address, 80)
    bob.execute(
        bob.prepare_cooperative_settle(
            final, alice.sign_cooperative_settlement(final), bob.sign_cooperative_settlement(final)
        )
    )

    second = rail.open_funded(100, 50)
    bob_proof = BalanceProof(second, 1, 20)
    alice.execute(alice.prepare_close(second, bob_proof, bob.sign_balance_proof(bob_proof)))
    alice_proof = BalanceProof(second, 3, 60)
    bob.execute(bob.prepare_update(second, alice_proof, alice.sign_balance_proof(alice_proof)))
    with pytest.raises(ChallengePeriodNotOver):
        bob.prepare_settle(second)
    advance_time(rail.web3, SETTLE_TIMEOUT + 1)
    bob.execute(bob.prepare_settle(second))

    # first: alice 120 -> 90, bob 50 -> 80; second: alice 100 - 60 + 20, bob 50 - 20 + 60
    assert rail.alice.token.balance_of(rail.alice.address) == TOKENS_EACH - 120 + 90 - 100 + 60
    assert rail.alice.token.balance_of(rail.bob.address) == TOKENS_EACH - 50 + 80 - 50 + 90
    assert alice.channel(second).state == OnchainChannelState.SETTLED
    watcher = ChainWatcher(rail.web3, rail.token_network_address, alice.abi, confirmations=0)
    kinds = [log.kind for batch in watcher.batches(0) for log in batch.logs]
    assert kinds.count("ChannelSettled") == 2
    assert kinds.count("ChannelOpened") == 2


def test_load_signer_reads_the_configured_source(tmp_path: Path) -> None:
    account = Account.create()
    from_env = load_signer(ChainSettings(), {"SETTLE_CHAIN_PRIVATE_KEY": account.key.hex()})
    assert from_env.address == account.address
    keystore = tmp_path / "key.json"
    KeystoreSigner.write(keystore, account.key, "pw", iterations=2)
    settings = ChainSettings(key_source="keystore", keystore_path=keystore)
    assert (
        load_signer(settings, {"SETTLE_CHAIN_KEYSTORE_PASSWORD": "pw"}).address == account.address
    )
    with pytest.raises(SignerUnavailable) as caught:
        load_signer(settings, {})
    assert caught.value.source == "SETTLE_CHAIN_KEYSTORE_PASSWORD"
