"""A rail with several RPC endpoints: calls go to a healthy one and fall over to the next when
theirs stops answering. Endpoints are Anvil, a closed port on 127.0.0.1 (refuses at once), a
listener that never answers (times out) and a forwarding proxy to Anvil that the test stops."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from eth_account import Account
from web3 import Web3

from adapters.evm.chains import ChainMismatch, FailoverHTTPProvider, connect_rpc
from adapters.evm.errors import RpcUnavailable
from adapters.evm.settings import ChainSettings
from adapters.evm.transactions import NonceManager
from adapters.signing.local_key import LocalKeySigner
from application.rails.config import RailConfig
from bootstrap.settlement import connect_rail, rpc_web3
from devtools.anvil import free_port
from devtools.dev_chain import DevelopmentRails, deploy_rails, fund_participant

TIMEOUT = 0.5


@pytest.fixture
def closed_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens: connection refused


@pytest.fixture
def silent_url() -> Iterator[str]:
    """Accepts connections (the kernel's backlog) but never answers: every call times out."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


class Proxy:
    """Forwards JSON-RPC POSTs to Anvil until stopped; then its port refuses connections. It
    counts the requests it gets, can start again on its port, and when `lying` answers
    `eth_chainId` with another chain's id (a misconfigured or wrong node behind the URL)."""

    def __init__(self, target: str, port: int = 0) -> None:
        proxy = self
        self.requests = 0
        self.lying = False

        class Forward(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                proxy.requests += 1
                if proxy.lying and json.loads(body)["method"] == "eth_chainId":
                    request_id = json.loads(body)["id"]
                    content = json.dumps({"jsonrpc": "2.0", "id": request_id, "result": "0x1"})
                    self.answer(200, content.encode())
                    return
                answer = requests.post(
                    target, data=body, headers={"Content-Type": "application/json"}, timeout=10
                )
                self.answer(answer.status_code, answer.content)

            def answer(self, status: int, content: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, format: str, *args: object) -> None:
                return None

        self.target = target
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Forward)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def restarted(self) -> Proxy:
        """A new proxy on this one's port (stopped first), as an endpoint coming back."""
        return Proxy(self.target, self.server.server_address[1])


@pytest.fixture
def proxy(anvil_url: str) -> Iterator[Proxy]:
    running = Proxy(anvil_url)
    try:
        yield running
    finally:
        if running.thread.is_alive():
            running.stop()


@pytest.fixture
def dev(anvil: Web3, contracts_out: Path) -> DevelopmentRails:
    return deploy_rails(anvil, ["failover-rail"])


def rail_config(dev: DevelopmentRails, urls: list[str]) -> RailConfig:
    deployed = dev.rails[0].model_dump()
    deployed.update(rpc_url=None, rpc_urls=urls)
    return RailConfig.model_validate(deployed)


def failovers(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [
        (r.from_endpoint, r.to_endpoint)  # type: ignore[attr-defined]
        for r in caplog.records
        if r.getMessage() == "rpc failover"
    ]


def rail_works(dev: DevelopmentRails, web3: Web3, config: RailConfig) -> None:
    """The rail reads the token and sends transactions through the failover connection."""
    signer = LocalKeySigner(Account.create())
    fund_participant(web3, signer, dev.token, 7 * 10**18)
    rail, _watcher = connect_rail(config, signer, web3, NonceManager(), ChainSettings())
    assert rail.token.balance_of(signer.address) == 7 * 10**18


@pytest.mark.parametrize("down_first", [True, False], ids=["down-then-up", "up-then-down"])
def test_the_rail_works_with_one_endpoint_down(
    down_first: bool,
    dev: DevelopmentRails,
    anvil_url: str,
    closed_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="adapters.evm.chains")
    urls = [closed_url, anvil_url] if down_first else [anvil_url, closed_url]
    config = rail_config(dev, urls)
    web3 = rpc_web3(config, TIMEOUT)

    assert isinstance(web3.provider, FailoverHTTPProvider)
    assert web3.provider.endpoint_uri == anvil_url
    rail_works(dev, web3, config)
    unhealthy = [r for r in caplog.records if r.getMessage() == "rpc endpoint unhealthy"]
    assert [r.endpoint for r in unhealthy] == ([closed_url] if down_first else [])  # type: ignore[attr-defined]


def test_calls_fall_over_when_the_current_endpoint_stops_answering(
    dev: DevelopmentRails, anvil_url: str, proxy: Proxy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="adapters.evm.chains")
    config = rail_config(dev, [proxy.url, anvil_url])
    web3 = rpc_web3(config, TIMEOUT)
    assert web3.provider.endpoint_uri == proxy.url  # type: ignore[attr-defined]
    before = web3.eth.block_number
    assert failovers(caplog) == []

    proxy.stop()

    assert web3.eth.block_number >= before  # the same call, answered by the next endpoint
    assert failovers(caplog) == [(proxy.url, anvil_url)]
    rail_works(dev, web3, config)
    assert len(failovers(caplog)) == 1  # it stays on the healthy endpoint


def test_an_endpoint_that_times_out_is_passed_over(
    dev: DevelopmentRails, anvil_url: str, silent_url: str
) -> None:
    web3 = connect_rpc([silent_url, anvil_url], TIMEOUT, dev.rails[0].chain_id)

    assert web3.provider.endpoint_uri == anvil_url  # type: ignore[attr-defined]
    assert web3.eth.chain_id == dev.rails[0].chain_id


def test_no_endpoint_healthy_is_rpc_unavailable_and_retryable(
    closed_url: str, silent_url: str
) -> None:
    with pytest.raises(RpcUnavailable) as raised:
        connect_rpc([closed_url, silent_url], TIMEOUT, 31337)

    assert raised.value.retryable
    assert closed_url in str(raised.value) and silent_url in str(raised.value)


def test_an_endpoint_of_another_chain_is_refused(anvil_url: str, closed_url: str) -> None:
    with pytest.raises(ChainMismatch) as raised:
        connect_rpc([closed_url, anvil_url], TIMEOUT, 1)

    assert raised.value.expected == 1


class FakeClock:
    """Monotonic seconds the test moves: the failback interval without waiting for it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def failbacks(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [
        (r.from_endpoint, r.to_endpoint)  # type: ignore[attr-defined]
        for r in caplog.records
        if r.getMessage() == "rpc failback"
    ]


def failover_web3(urls: list[str], chain_id: int, clock: FakeClock) -> Web3:
    provider = FailoverHTTPProvider(urls, TIMEOUT, chain_id, failback_seconds=30, clock=clock)
    provider.connect()
    return Web3(provider)


@pytest.fixture
def restarted(proxy: Proxy) -> Iterator[list[Proxy]]:
    """Proxies a test starts again on the stopped proxy's port; each stopped at teardown."""
    started: list[Proxy] = []
    try:
        yield started
    finally:
        for running in started:
            if running.thread.is_alive():
                running.stop()


def test_calls_return_to_the_first_endpoint_once_it_answers_again(
    dev: DevelopmentRails,
    anvil_url: str,
    proxy: Proxy,
    restarted: list[Proxy],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="adapters.evm.chains")
    clock = FakeClock()
    web3 = failover_web3([proxy.url, anvil_url], dev.rails[0].chain_id, clock)
    proxy.stop()
    assert web3.eth.block_number >= 0
    assert web3.provider.endpoint_uri == anvil_url  # type: ignore[attr-defined]

    back = proxy.restarted()
    restarted.append(back)
    clock.now += 29  # within the interval: no re-check, calls stay on the backup
    assert web3.eth.block_number >= 0
    assert (web3.provider.endpoint_uri, back.requests) == (anvil_url, 0)  # type: ignore[attr-defined]

    clock.now += 1
    number = web3.eth.block_number
    assert web3.provider.endpoint_uri == proxy.url  # type: ignore[attr-defined]
    assert back.requests == 2  # the health check, then the call itself
    assert number >= 0
    assert failbacks(caplog) == [(anvil_url, proxy.url)]
    rail_works(dev, web3, rail_config(dev, [proxy.url, anvil_url]))
    assert web3.provider.endpoint_uri == proxy.url  # type: ignore[attr-defined]
    assert back.requests > 2 and len(failbacks(caplog)) == 1


def test_a_first_endpoint_still_wrong_is_rechecked_at_most_once_per_interval(
    dev: DevelopmentRails,
    anvil_url: str,
    proxy: Proxy,
    restarted: list[Proxy],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="adapters.evm.chains")
    clock = FakeClock()
    web3 = failover_web3([proxy.url, anvil_url], dev.rails[0].chain_id, clock)
    proxy.stop()
    assert web3.eth.block_number >= 0
    back = proxy.restarted()
    restarted.append(back)
    back.lying = True  # it answers, but for another chain: not healthy

    clock.now += 30
    assert web3.eth.block_number >= 0
    assert (web3.provider.endpoint_uri, back.requests) == (anvil_url, 1)  # type: ignore[attr-defined]
    clock.now += 29
    for _ in range(3):
        assert web3.eth.block_number >= 0
    assert back.requests == 1  # no re-check before the interval is over again
    clock.now += 1
    assert web3.eth.block_number >= 0
    assert (web3.provider.endpoint_uri, back.requests) == (anvil_url, 2)  # type: ignore[attr-defined]
    assert failbacks(caplog) == []

    back.lying = False
    clock.now += 30
    assert web3.eth.block_number >= 0
    assert web3.provider.endpoint_uri == proxy.url  # type: ignore[attr-defined]
    assert failbacks(caplog) == [(anvil_url, proxy.url)]
