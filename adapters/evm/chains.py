"""Connecting to a chain: a JSON-RPC node (one endpoint, or several with failover), or the
in-process eth-tester (py-evm) chain.

Also deploys the development contracts (TestToken and TokenNetwork) and funds development
accounts from the chain's own unlocked account, on eth-tester and Anvil alike.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from eth_abi.abi import encode as abi_encode
from eth_typing import URI, ChecksumAddress
from web3 import EthereumTesterProvider, HTTPProvider, Web3
from web3.types import RPCEndpoint, RPCResponse, Wei

from adapters.evm.artifacts import load_artifact
from adapters.evm.errors import RpcUnavailable, classify
from adapters.evm.rpc_observed import ObservedHTTPProvider, RpcObserver, error_kind, observed_call
from adapters.evm.settings import ChainSettings
from adapters.evm.transactions import TransactionSender

log = logging.getLogger(__name__)
# What says an endpoint is down, not that it refused the call: only these fail over.
_UNREACHABLE = (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError)


class ChainMismatch(Exception):
    """The node's chain id is not the configured one."""

    def __init__(self, expected: int, actual: int) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"SETTLE_CHAIN__CHAIN_ID={expected} but the node reports chain id {actual}"
        )


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
) -> Web3:
    """Connects to a node and checks its chain id; raises RpcUnavailable if it does not answer.
    Given several endpoints, calls go to the first healthy one and fall over to the next.
    With an observer, every call is reported to it (adapters.evm.rpc_observed)."""
    if not isinstance(url, str):
        if len(url) > 1:
            provider = FailoverHTTPProvider(url, timeout_seconds, expected_chain_id, observer)
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


class FailoverHTTPProvider(HTTPProvider):
    """JSON-RPC over several endpoints of one chain: each call goes to the current endpoint; on a
    connection error or timeout the next endpoint that is healthy (answers `eth_chainId` with the
    expected chain id within the timeout) becomes current and the call is repeated there, each
    endpoint at most once per call. A failover is logged. A node's answer, even an error, is
    never a reason to fail over: it is the chain's answer."""

    def __init__(
        self,
        urls: Sequence[str],
        timeout_seconds: float,
        chain_id: int | None = None,
        observer: RpcObserver | None = None,
    ) -> None:
        if not urls:
            raise ValueError("urls: at least one RPC endpoint is needed")
        self.urls = tuple(urls)
        self.chain_id = chain_id
        self.observer = observer  # health checks (eth_chainId probes) are not reported
        # Inner providers fail at once (no retries of their own): the next endpoint is the retry.
        self._providers = {
            u: HTTPProvider(
                u, request_kwargs={"timeout": timeout_seconds}, exception_retry_configuration=None
            )
            for u in self.urls
        }
        self._switch = threading.Lock()
        super().__init__(self.urls[0], request_kwargs={"timeout": timeout_seconds})

    def connect(self) -> str:
        """Makes the first healthy endpoint current; raises ChainMismatch when an endpoint
        serves another chain (a misconfiguration) and RpcUnavailable when none answers."""
        reasons: dict[str, str] = {}
        for url in self.urls:
            answer = self._chain_id_at(url)
            if isinstance(answer, str):
                reasons[url] = answer
                log.warning("rpc endpoint unhealthy", extra={"endpoint": url, "reason": answer})
                continue
            if self.chain_id is not None and answer != self.chain_id:
                raise ChainMismatch(self.chain_id, answer)
            self.endpoint_uri = URI(url)
            return url
        raise RpcUnavailable(",".join(self.urls), f"no endpoint is healthy: {reasons}")

    def unhealthy_reason(self, url: str) -> str | None:
        """None when `url` answers with the expected chain id within the timeout."""
        answer = self._chain_id_at(url)
        if isinstance(answer, str):
            return answer
        if self.chain_id is not None and answer != self.chain_id:
            return f"chain id {answer}, expected {self.chain_id}"
        return None

    def _chain_id_at(self, url: str) -> int | str:
        """The endpoint's chain id, or why it could not be had."""
        try:
            response = self._providers[url].make_request(RPCEndpoint("eth_chainId"), [])
        except _UNREACHABLE as error:
            return f"{type(error).__name__}: {error}"
        if "result" not in response:
            return f"eth_chainId answered {response.get('error')!r}"
        return int(str(response["result"]), 16)

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        return observed_call(self.observer, str(method), lambda: self._request(method, params))

    def _request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        endpoint = str(self.endpoint_uri)
        tried: list[str] = []
        while True:
            try:
                return self._providers[endpoint].make_request(method, params)
            except _UNREACHABLE as error:
                self._attempt_failed(method, error)
                tried.append(endpoint)
                endpoint = self._fail_over(endpoint, tried, error)
            except Exception as error:
                self._attempt_failed(method, error)
                raise

    def _attempt_failed(self, method: RPCEndpoint, error: BaseException) -> None:
        if self.observer is not None:
            self.observer.attempt_failed(str(method), error_kind(error))

    def is_connected(self, show_traceback: bool = False) -> bool:
        return any(self.unhealthy_reason(url) is None for url in self.urls)

    def _fail_over(self, failed: str, tried: list[str], error: BaseException) -> str:
        """The next healthy endpoint after `failed` not yet tried in this call; re-raises the
        error when there is none (the caller classifies it as RpcUnavailable, retryable)."""
        with self._switch:
            if self.endpoint_uri != failed and self.endpoint_uri not in tried:
                return str(self.endpoint_uri)  # another call already moved on
            start = self.urls.index(failed)
            for url in self.urls[start + 1 :] + self.urls[:start]:
                if url in tried:
                    continue
                reason = self.unhealthy_reason(url)
                if reason is None:
                    log.warning(
                        "rpc failover",
                        extra={"from_endpoint": failed, "to_endpoint": url, "error": repr(error)},
                    )
                    self.endpoint_uri = URI(url)
                    return url
                tried.append(url)
                log.warning("rpc endpoint unhealthy", extra={"endpoint": url, "reason": reason})
        raise error


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
