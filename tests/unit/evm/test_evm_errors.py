"""Classification of chain failures: decoded reverts, funding, nonces, outages; plus the
clear error when compiled contracts are missing and the chain settings' own checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
from eth_abi import encode
from eth_tester.exceptions import TransactionFailed
from eth_utils import function_signature_to_4byte_selector
from pydantic import ValidationError
from web3.exceptions import ContractCustomError

from adapters.evm.artifacts import ArtifactMissing, load_artifact
from adapters.evm.errors import (
    ChannelDisputed,
    ChannelNotOpen,
    ChannelStillOpen,
    InsufficientFunds,
    NonceConflict,
    Reverted,
    RpcUnavailable,
    classify,
    decode_revert,
)
from adapters.evm.settings import ChainSettings

ABI: list[dict[str, Any]] = [
    {
        "type": "error",
        "name": "ChannelNotOpen",
        "inputs": [
            {"name": "channelId", "type": "uint256"},
            {"name": "state", "type": "uint8"},
        ],
    },
    {
        "type": "error",
        "name": "InvalidSignature",
        "inputs": [
            {"name": "expectedSigner", "type": "address"},
            {"name": "recoveredSigner", "type": "address"},
        ],
    },
]


def channel_not_open(channel_id: int, state: int) -> bytes:
    selector = function_signature_to_4byte_selector("ChannelNotOpen(uint256,uint8)")
    return selector + encode(["uint256", "uint8"], [channel_id, state])


@pytest.mark.parametrize(
    ("state", "kind"), [(0, ChannelNotOpen), (1, ChannelStillOpen), (2, ChannelDisputed)]
)
def test_channel_state_reverts_say_what_the_channel_is(state: int, kind: type) -> None:
    error = decode_revert(channel_not_open(7, state), ABI)
    assert isinstance(error, kind)
    assert (error.channel_id, error.retryable) == (7, False)  # type: ignore[attr-defined]


def test_custom_errors_decode_with_their_facts_and_checksummed_addresses() -> None:
    expected, recovered = "0x" + "ab" * 20, "0x" + "cd" * 20
    data = function_signature_to_4byte_selector("InvalidSignature(address,address)") + encode(
        ["address", "address"], [expected, recovered]
    )
    error = classify(ContractCustomError("0x" + data.hex(), data="0x" + data.hex()), ABI)
    assert isinstance(error, Reverted)
    assert error.error_name == "InvalidSignature"
    assert error.arguments["expectedSigner"] == "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"
    assert "InvalidSignature(expectedSigner=" in str(error)


def test_string_reasons_panics_and_unknown_data_decode() -> None:
    reason = bytes.fromhex("08c379a0") + encode(["string"], ["nope"])
    assert decode_revert(reason, ABI).arguments == {"reason": "nope"}
    panic = bytes.fromhex("4e487b71") + encode(["uint256"], [0x11])
    assert decode_revert(panic, ABI).arguments == {"code": 0x11}
    assert decode_revert(b"\xde\xad\xbe\xef", ABI).error_name == "Unknown"


def test_eth_tester_reverts_are_decoded_too() -> None:
    data = channel_not_open(3, 2)
    error = classify(TransactionFailed(f"execution reverted: {data!r}"), ABI)
    assert isinstance(error, ChannelDisputed)


@pytest.mark.parametrize(
    "raised",
    [
        requests.ConnectionError("refused"),
        requests.Timeout("read timed out"),
        ConnectionRefusedError(111, "refused"),
    ],
)
def test_outages_are_retryable(raised: Exception) -> None:
    error = classify(raised, ABI, endpoint="http://127.0.0.1:1")
    assert isinstance(error, RpcUnavailable)
    assert (error.retryable, error.alert, error.endpoint) == (True, False, "http://127.0.0.1:1")


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        (
            "{'code': -32003, 'message': 'Insufficient funds for gas * price + value'}",
            InsufficientFunds,
        ),
        ("Sender cannot afford txn gas 100 with account balance 0", InsufficientFunds),
        ("{'code': -32003, 'message': 'nonce too low'}", NonceConflict),
    ],
)
def test_funding_and_nonce_problems_alert_without_retry(message: str, kind: type) -> None:
    error = classify(ValueError(message), ABI, sender="0xabc")
    assert isinstance(error, kind)
    assert (error.retryable, error.alert) == (False, True)


def test_missing_artifacts_name_the_build_command(tmp_path: Path) -> None:
    with pytest.raises(ArtifactMissing) as caught:
        load_artifact("TokenNetwork", tmp_path)
    assert "scripts/build-contracts" in str(caught.value)


def test_rpc_chain_settings_need_a_url_and_chain_id() -> None:
    with pytest.raises(ValidationError, match="SETTLE_CHAIN__RPC_URL"):
        ChainSettings(backend="rpc", chain_id=31337)
    with pytest.raises(ValidationError, match="SETTLE_CHAIN__CHAIN_ID"):
        ChainSettings(backend="rpc", rpc_url="http://127.0.0.1:8545")
    assert ChainSettings().backend == "eth-tester"
