"""Chain errors, classified for the settlement process: may it retry, must a person look?

`classify(error, abi)` turns whatever web3.py, eth-tester or the HTTP stack raised into one
EvmError subclass; a revert's data is decoded against the contract's custom errors. The tags
(`retryable`, `alert`, `channel_lost`, `nonce_lost`) and `ContractRefusal` are what the
application reads: it never imports these classes.
"""

from __future__ import annotations

import ast
import re
from typing import Any

import requests
from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_utils.abi import function_abi_to_4byte_selector
from eth_utils.address import to_checksum_address
from eth_utils.conversions import to_bytes
from web3 import exceptions as web3_errors

from application.chain_ports import ContractRefusal, OnchainChannelState


class EvmError(Exception):
    """Base class: `retryable` (try the same thing again later) and `alert` (page a person)."""

    retryable = False
    alert = False
    channel_lost = False
    nonce_lost = False


class RpcUnavailable(EvmError):
    """The node did not answer (refused, timed out, 5xx, rate limited)."""

    retryable = True

    def __init__(self, endpoint: str, problem: str) -> None:
        self.endpoint = endpoint
        self.problem = problem
        super().__init__(f"rpc {endpoint} unavailable: {problem}")


class ConfirmationTimeout(EvmError):
    """No receipt with enough confirmations in time; re-broadcast the same bytes and wait again."""

    retryable = True

    def __init__(self, tx_hash: str, waited_seconds: float) -> None:
        self.tx_hash = tx_hash
        self.waited_seconds = waited_seconds
        super().__init__(f"transaction {tx_hash} not confirmed after {waited_seconds:.1f}s")


class InsufficientFunds(EvmError):
    """The sender cannot pay gas (or value); somebody has to top the account up."""

    alert = True

    def __init__(self, sender: str | None, detail: str) -> None:
        self.sender = sender
        self.detail = detail
        super().__init__(f"insufficient funds for sender {sender}: {detail}")


class NonceConflict(EvmError):
    """The nonce was used by another transaction: this signed transaction can never be mined."""

    alert = True
    nonce_lost = True

    def __init__(self, sender: str | None, detail: str) -> None:
        self.sender = sender
        self.detail = detail
        super().__init__(f"nonce conflict for sender {sender}: {detail}")


class Reverted(EvmError, ContractRefusal):
    """The contract refused; `error_name` and `arguments` are decoded from the revert data."""

    alert = True

    def __init__(self, error_name: str, arguments: dict[str, Any], data: bytes = b"") -> None:
        self.error_name = error_name
        self.arguments = arguments
        self.data = data
        facts = ", ".join(f"{key}={value}" for key, value in arguments.items())
        super().__init__(f"reverted: {error_name}({facts})")


class ChannelStateError(Reverted):
    """The channel is not in the state the call needs."""

    alert = False

    @property
    def channel_id(self) -> int:
        return int(self.arguments["channelId"])

    @property
    def state(self) -> OnchainChannelState:
        return OnchainChannelState(int(self.arguments["state"]))


class ChannelNotOpen(ChannelStateError):
    """No such channel, or it is already settled."""

    channel_lost = True


class ChannelDisputed(ChannelStateError):
    """Closed unilaterally: in (or past) its challenge period, waiting for settle."""

    channel_lost = True


class ChannelStillOpen(ChannelStateError):
    """Update or settle on a channel nobody has closed."""


class ChallengePeriodNotOver(Reverted):
    """Settle came too early; retry once the chain's clock passes `settleAfter`."""

    retryable = True
    alert = False

    @property
    def settle_after(self) -> int:
        return int(self.arguments["settleAfter"])


_STATE_ERRORS = {"ChannelNotOpen", "ChannelNotClosed"}
_ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string)
_PANIC = bytes.fromhex("4e487b71")  # Panic(uint256)


def decode_revert(data: bytes, abi: list[dict[str, Any]]) -> Reverted:
    """Decodes revert data into the matching Reverted subclass."""
    selector, body = data[:4], data[4:]
    if selector == _ERROR_STRING:
        return Reverted("Error", {"reason": abi_decode(["string"], body)[0]}, data)
    if selector == _PANIC:
        return Reverted("Panic", {"code": abi_decode(["uint256"], body)[0]}, data)
    for entry in abi:
        if entry.get("type") != "error":
            continue
        if function_abi_to_4byte_selector(entry) != selector:  # type: ignore[arg-type]
            continue
        types = [item["type"] for item in entry["inputs"]]
        values = abi_decode(types, body)
        arguments = {
            item["name"]: to_checksum_address(value) if item["type"] == "address" else value
            for item, value in zip(entry["inputs"], values, strict=True)
        }
        return _state_error(entry["name"], arguments, data)
    return Reverted("Unknown", {"data": "0x" + data.hex()}, data)


def _state_error(name: str, arguments: dict[str, Any], data: bytes) -> Reverted:
    if name == "ChallengePeriodNotOver":
        return ChallengePeriodNotOver(name, arguments, data)
    if name not in _STATE_ERRORS:
        return Reverted(name, arguments, data)
    state = OnchainChannelState(int(arguments["state"]))
    if state == OnchainChannelState.CLOSED:
        return ChannelDisputed(name, arguments, data)
    if state == OnchainChannelState.OPENED:
        return ChannelStillOpen(name, arguments, data)
    return ChannelNotOpen(name, arguments, data)


_TESTER_REVERT = re.compile(r"execution reverted: (b['\"].*['\"])$", re.DOTALL)
_FUNDS = ("insufficient funds", "cannot afford", "not have enough balance")
_NONCE = ("nonce too low", "invalid transaction nonce", "replacement transaction underpriced")


def classify(
    error: BaseException,
    abi: list[dict[str, Any]],
    endpoint: str = "node",
    sender: str | None = None,
) -> EvmError:
    """Maps a raised exception to an EvmError; unknown errors become a non-retryable alert."""
    if isinstance(error, EvmError):
        return error
    data = _revert_data(error)
    if data is not None:
        return decode_revert(data, abi)
    if isinstance(
        error,
        requests.ConnectionError
        | requests.Timeout
        | ConnectionError
        | TimeoutError
        | web3_errors.ProviderConnectionError
        | web3_errors.RequestTimedOut
        | web3_errors.TooManyRequests,
    ):
        return RpcUnavailable(endpoint, f"{type(error).__name__}: {error}")
    if isinstance(error, requests.HTTPError):
        return RpcUnavailable(endpoint, str(error))
    message = str(error).lower()
    if any(marker in message for marker in _FUNDS):
        return InsufficientFunds(sender, str(error))
    if any(marker in message for marker in _NONCE):
        return NonceConflict(sender, str(error))
    return Reverted(type(error).__name__, {"message": str(error)})


def _revert_data(error: BaseException) -> bytes | None:
    if isinstance(error, web3_errors.ContractCustomError | web3_errors.ContractLogicError):
        data = error.data
        if isinstance(data, str) and data.startswith("0x"):
            return to_bytes(hexstr=data)
        if isinstance(data, bytes):
            return data
        if isinstance(error, web3_errors.ContractLogicError):
            return _ERROR_STRING + _encode_reason(str(error.message or error))
    if type(error).__name__ == "TransactionFailed" and error.args:
        match = _TESTER_REVERT.search(str(error.args[0]))
        if match:
            data = ast.literal_eval(match.group(1))
            return data if isinstance(data, bytes) else str(data).encode()
        return _ERROR_STRING + _encode_reason(str(error.args[0]))
    return None


def _encode_reason(reason: str) -> bytes:
    return abi_encode(["string"], [reason])
