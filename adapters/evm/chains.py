"""Connecting to a chain: a JSON-RPC node (one endpoint, or several with failover), or the
in-process eth-tester (py-evm) chain.

Also deploys the development contracts (TestToken and TokenNetwork) and funds development
accounts from the chain's own unlocked account, on eth-tester and Anvil alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from eth_abi.abi import encode as abi_encode
from eth_typing import ChecksumAddress
from web3 import EthereumTesterProvider, HTTPProvider, Web3
from web3.types import Wei

from adapters.evm.artifacts import load_artifact
from adapters.evm.errors import RpcUnavailable, classify
from adapters.evm.failover import ChainMismatch, FailoverHTTPProvider
from adapters.evm.rpc_observed import ObservedHTTPProvider, RpcObserver
from adapters.evm.settings import ChainSettings
from adapters.evm.transactions import TransactionSender


@dataclass(frozen=True)
class DevelopmentContracts:
    token: ChecksumAddress
    token_network: ChecksumAddress


def start_eth_tester() -> Web3:
    """A fresh in-process chain; it lives as long as the returned Web3 object."""
    return Web3(EthereumTesterProvider())


def connect_rpc(
    url: str | Sequence[str],
    timeout_seconds: float,
    expected_chain_id: int | None = None,
    observer: RpcObserver | None = None,
    failback_seconds: float = 30.0,
) -> Web3:
    """Connects to a node and checks its chain id; raises RpcUnavailable if it does not answer.
    Given several endpoints, calls go to the first healthy one, fall over to the next, and
    return to the first when a re-check (every `failback_seconds`) finds it healthy again.
    With an observer, every call is reported to it (adapters.evm.rpc_observed)."""
    if not isinstance(url, str):
        if len(url) > 1:
            provider = FailoverHTTPProvider(
                url, timeout_seconds, expected_chain_id, observer, failback_seconds
            )
            provider.connect()
            return Web3(provider)
        [url] = url
    single = (
        HTTPProvider(url, request_kwargs={"timeout": timeout_seconds})
        if observer is None
        else ObservedHTTPProvider(url, timeout_seconds, observer)
    )
    web3 = Web3(single)
    try:
        chain_id = web3.eth.chain_id
    except Exception as error:
        raise classify(error, [], endpoint=url) from error
    if expected_chain_id is not None and chain_id != expected_chain_id:
        raise ChainMismatch(expected_chain_id, chain_id)
    return web3


def connect(settings: ChainSettings) -> Web3:
    if settings.backend == "eth-tester":
        return start_eth_tester()
    if settings.rpc_url is None:
        raise RpcUnavailable("SETTLE_CHAIN__RPC_URL", "is not set")
    return connect_rpc(settings.rpc_url, settings.rpc_timeout_seconds, settings.chain_id)


def fund_from_development_account(web3: Web3, recipient: str, wei: int) -> None:
    """Sends ether from the node's first unlocked account (eth-tester and Anvil have them)."""
    source = web3.eth.accounts[0]
    tx_hash = web3.eth.send_transaction(
        {"from": source, "to": Web3.to_checksum_address(recipient), "value": Wei(wei)}
    )
    web3.eth.wait_for_transaction_receipt(tx_hash)


def deploy(
    sender: TransactionSender,
    contract: str,
    arguments: list[object],
    out_dir: Path | None = None,
) -> ChecksumAddress:
    """Deploys a compiled contract through the sender's signer and returns its address."""
    artifact = load_artifact(contract, out_dir)
    constructor = next(entry for entry in artifact.abi if entry["type"] == "constructor")
    types = [item["type"] for item in constructor["inputs"]]
    data = artifact.bytecode + abi_encode(types, arguments).hex()
    signed = sender.sign(f"deploy {contract}", {"data": data})
    sender.broadcast(signed)
    confirmation = sender.wait_confirmed(signed.tx_hash, confirmations=0)
    receipt = sender.receipt(signed.tx_hash)
    if not confirmation.succeeded or receipt is None or receipt["contractAddress"] is None:
        raise RuntimeError(f"deploying {contract} failed in transaction {signed.tx_hash}")
    return Web3.to_checksum_address(receipt["contractAddress"])


def deploy_development(
    sender: TransactionSender,
    token_decimals: int = 18,
    settle_timeout_min: int = 60,
    settle_timeout_max: int = 30 * 24 * 3600,
    out_dir: Path | None = None,
) -> DevelopmentContracts:
    """Deploys a TestToken and a TokenNetwork for it (development chains only)."""
    token = deploy(sender, "TestToken", ["Test Token", "TST", token_decimals], out_dir)
    network = deploy(
        sender, "TokenNetwork", [token, settle_timeout_min, settle_timeout_max], out_dir
    )
    return DevelopmentContracts(token=token, token_network=network)


def advance_time(web3: Web3, seconds: int) -> None:
    """Development chains only: moves the chain clock forward and mines a block."""
    provider = web3.provider
    if isinstance(provider, EthereumTesterProvider):
        latest = web3.eth.get_block("latest")["timestamp"]
        provider.ethereum_tester.time_travel(latest + seconds)  # type: ignore[union-attr]
        return
    provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def mine_blocks(web3: Web3, count: int) -> None:
    """Development chains only: mines `count` empty blocks."""
    provider = web3.provider
    if isinstance(provider, EthereumTesterProvider):
        provider.ethereum_tester.mine_blocks(count)  # type: ignore[union-attr]
        return
    for _ in range(count):
        provider.make_request("evm_mine", [])  # type: ignore[arg-type]


__all__ = [
    "ChainMismatch",
    "DevelopmentContracts",
    "FailoverHTTPProvider",
    "advance_time",
    "connect",
    "connect_rpc",
    "deploy",
    "deploy_development",
    "fund_from_development_account",
    "mine_blocks",
    "start_eth_tester",
]
