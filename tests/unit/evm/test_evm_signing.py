"""Signers: a key from the environment or an encrypted keystore; the key never shows."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account

from adapters.signing import KeystoreSigner, LocalKeySigner, SignerUnavailable


def test_local_key_from_the_environment_signs_for_its_address() -> None:
    account = Account.create()
    key = account.key.hex()
    signer = LocalKeySigner.from_env("TEST_KEY", {"TEST_KEY": key})
    assert signer.address == account.address
    assert key not in repr(signer)
    raw = signer.sign_transaction(
        {"to": account.address, "value": 1, "gas": 21000, "gasPrice": 1, "nonce": 0, "chainId": 1}
    )
    recovered = Account.recover_transaction(raw)
    assert recovered == account.address


def test_a_missing_or_bad_key_names_the_variable_and_not_the_value() -> None:
    with pytest.raises(SignerUnavailable) as caught:
        LocalKeySigner.from_env("TEST_KEY", {})
    assert caught.value.source == "TEST_KEY"
    with pytest.raises(SignerUnavailable) as caught:
        LocalKeySigner.from_env("TEST_KEY", {"TEST_KEY": "0xnotakey-secretish"})
    assert "TEST_KEY" in str(caught.value)
    assert "secretish" not in str(caught.value)


def test_keystore_round_trip_and_wrong_password(tmp_path: Path) -> None:
    account = Account.create()
    path = tmp_path / "key.json"
    address = KeystoreSigner.write(path, account.key, "correct horse", iterations=2)
    assert path.stat().st_mode & 0o777 == 0o600
    signer = KeystoreSigner(path, "correct horse")
    assert signer.address == address == account.address
    with pytest.raises(SignerUnavailable) as caught:
        KeystoreSigner(path, "wrong")
    assert caught.value.source == str(path)


def test_a_missing_keystore_is_reported_by_path(tmp_path: Path) -> None:
    with pytest.raises(SignerUnavailable) as caught:
        KeystoreSigner(tmp_path / "absent.json", "pw")
    assert "absent.json" in str(caught.value)
