"""A secp256k1 key generated inside a SoftHSM2 token signs balance proofs and transactions that
recover to its address, and TokenNetwork on Anvil accepts both."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account

from adapters.evm.artifacts import default_out_dir
from adapters.evm.balance_proof import BalanceProof, ProofDomain, recover_signer, sign
from adapters.evm.chains import connect_rpc, fund_from_development_account
from adapters.evm.settings import ChainSettings
from adapters.evm.token import TokenClient
from adapters.evm.token_network import TokenNetworkClient
from adapters.evm.transactions import NonceManager, TransactionSender
from adapters.signing import SignerUnavailable
from adapters.signing.configured import load_signer
from adapters.signing.ecdsa import SECP256K1_ORDER
from entrypoints.cli import main
from tests.integration.signing.conftest import SoftHsm
from tests.support.evm_rail import SETTLE_TIMEOUT, TOKENS_EACH, build_rail

pytest.importorskip("pkcs11", reason="python-pkcs11 is not installed (pip install .[keys-test])")

from adapters.signing.pkcs11_signer import Pkcs11Signer, generate_pkcs11_key


def _hsm_signer(hsm: SoftHsm, label: str) -> Pkcs11Signer:
    generate_pkcs11_key(hsm.library, hsm.token_label, hsm.pin, label)
    return Pkcs11Signer(hsm.library, hsm.token_label, label, hsm.pin)


def test_the_key_stays_in_the_token_and_its_signatures_recover_to_it(softhsm: SoftHsm) -> None:
    import pkcs11
    from pkcs11 import Attribute, KeyType, ObjectClass

    signer = _hsm_signer(softhsm, "recover")
    token = pkcs11.lib(str(softhsm.library)).get_token(token_label=softhsm.token_label)
    with token.open() as session:  # the signer's login is the process's
        private = session.get_key(ObjectClass.PRIVATE_KEY, KeyType.EC, label="recover")
        assert private[Attribute.SENSITIVE] and not private[Attribute.EXTRACTABLE]
        with pytest.raises(pkcs11.PKCS11Error):
            _ = private[Attribute.VALUE]  # reading the key material must fail

    domain = ProofDomain(31337, Account.create().address)
    for nonce in range(1, 9):
        proof = BalanceProof(3, nonce, 10 * nonce)
        signature = sign(proof, domain, signer)
        assert recover_signer(proof, domain, signature) == signer.address
        assert int.from_bytes(signature[32:64], "big") <= SECP256K1_ORDER // 2
    transaction = {
        "type": 2, "chainId": 31337, "nonce": 0, "to": Account.create().address, "value": 1,
        "gas": 21000, "maxFeePerGas": 10**9, "maxPriorityFeePerGas": 10**9, "data": b"",
    }  # fmt: skip
    assert Account.recover_transaction(signer.sign_transaction(transaction)) == signer.address
    signer.close()


def test_a_missing_key_or_wrong_pin_names_what_is_missing(softhsm: SoftHsm) -> None:
    with pytest.raises(SignerUnavailable, match="key absent"):
        Pkcs11Signer(softhsm.library, softhsm.token_label, "absent", softhsm.pin)
    with pytest.raises(SignerUnavailable, match="wrong PIN"):
        Pkcs11Signer(softhsm.library, softhsm.token_label, "absent", "0000")
    _hsm_signer(softhsm, "taken").close()
    with pytest.raises(SignerUnavailable, match="already in use"):
        generate_pkcs11_key(softhsm.library, softhsm.token_label, softhsm.pin, "taken")


def test_token_network_accepts_hsm_signed_transactions_and_balance_proofs(
    softhsm: SoftHsm, anvil_url: str
) -> None:
    web3 = connect_rpc(anvil_url, timeout_seconds=10)
    out_dir: Path = default_out_dir()
    rail = build_rail(web3, out_dir)
    hsm = _hsm_signer(softhsm, "on-anvil")
    fund_from_development_account(web3, hsm.address, 10**19)
    sender = TransactionSender(web3, hsm, NonceManager(), poll_interval_seconds=0.05)
    token = TokenClient(sender, rail.token_address, out_dir)
    network = TokenNetworkClient(
        sender, rail.token_network_address, confirmations=0, out_dir=out_dir
    )
    # Every transaction below is signed in the token: mint, approve, open, deposit.
    network.execute(token.prepare_mint(hsm.address, TOKENS_EACH))
    network.execute(token.prepare_approve(rail.token_network_address, 2**256 - 1))
    channel_id = network.channel_id_from(
        network.execute(network.prepare_open_channel(rail.bob.address, SETTLE_TIMEOUT))
    )
    network.execute(network.prepare_set_total_deposit(channel_id, 100))
    assert network.participant(channel_id, hsm.address).deposit == 100

    # Bob closes with the HSM's balance proof: the contract recovers the HSM's address from it.
    proof = BalanceProof(channel_id, 5, 40)
    rail.bob.network.execute(
        rail.bob.network.prepare_close(channel_id, proof, network.sign_balance_proof(proof))
    )
    recorded = rail.bob.network.participant(channel_id, hsm.address)
    assert (recorded.nonce, recorded.transferred_amount) == (5, 40)
    hsm.close()


def test_load_signer_opens_the_configured_hsm_key(softhsm: SoftHsm) -> None:
    expected = _hsm_signer(softhsm, "configured")
    settings = ChainSettings(
        key_source="pkcs11",
        pkcs11_library=softhsm.library,
        pkcs11_token_label=softhsm.token_label,
        pkcs11_key_label="configured",
    )
    with pytest.raises(SignerUnavailable, match="SETTLE_CHAIN_PKCS11_PIN"):
        load_signer(settings, {})
    loaded = load_signer(settings, {"SETTLE_CHAIN_PKCS11_PIN": softhsm.pin})
    assert loaded.address == expected.address
    assert isinstance(loaded, Pkcs11Signer)
    loaded.close()
    expected.close()


def test_settle_keys_generate_makes_a_key_in_the_token_and_rotate_activates_it(
    softhsm: SoftHsm,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in {
        "DATABASE_URL": database_url,
        "SETTLE_CHAIN__KEY_SOURCE": "pkcs11",
        "SETTLE_CHAIN__PKCS11_LIBRARY": str(softhsm.library),
        "SETTLE_CHAIN__PKCS11_TOKEN_LABEL": softhsm.token_label,
        "SETTLE_CHAIN__PKCS11_KEY_LABEL": "cli-generated",
        "SETTLE_CHAIN_PKCS11_PIN": softhsm.pin,
    }.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    assert main(["--json", "keys", "generate", "pkcs11:cli-generated"]) == 0
    generated = json.loads(capsys.readouterr().out)
    assert main(["--json", "keys", "rotate", "pkcs11:cli-generated"]) == 0
    rotated = json.loads(capsys.readouterr().out)
    assert rotated == {"active": "pkcs11:cli-generated", "address": generated["address"],
                       "changed": True}  # fmt: skip
    assert main(["keys", "generate", "pkcs11:cli-generated"]) == 2  # never replaces a key
    assert "already in use" in capsys.readouterr().err
