"""Which key the settings name, what each source requires, and the development-key warning."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from adapters.evm.settings import ChainSettings
from adapters.signing.configured import load_signer

ANVIL_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
OTHER_KEY = "0x" + "42" * 32
RPC: dict[str, object] = {"backend": "rpc", "rpc_url": "http://127.0.0.1:8545", "chain_id": 31337}


@pytest.mark.parametrize(
    ("source", "missing"),
    [("pkcs11", "SETTLE_CHAIN__PKCS11_LIBRARY"), ("kms", "SETTLE_CHAIN__KMS_KEY_ID")],
)
def test_each_key_source_names_the_setting_it_lacks(source: str, missing: str) -> None:
    with pytest.raises(ValidationError, match=missing):
        ChainSettings(key_source=source)  # type: ignore[arg-type]


def test_the_development_key_warns_on_a_real_node(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="settle.keys"):
        load_signer(ChainSettings.model_validate(RPC), {"SETTLE_CHAIN_PRIVATE_KEY": ANVIL_KEY})
    assert "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 is a public development key" in caplog.text


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        (
            ChainSettings.model_validate({**RPC, "development_key_expected": True}),
            ANVIL_KEY,
        ),  # demo and tests
        (ChainSettings(), ANVIL_KEY),  # the in-process development chain
        (ChainSettings.model_validate(RPC), OTHER_KEY),
    ],
)
def test_no_warning_in_the_demo_tests_or_for_other_keys(
    settings: ChainSettings, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="settle.keys"):
        load_signer(settings, {"SETTLE_CHAIN_PRIVATE_KEY": key})
    assert "development key" not in caplog.text
