"""Chain RPC calls counted per rail and method on the node's metrics registry, read back from
its Prometheus exposition (what `/metrics` serves): calls by outcome, their latency histogram,
and failed endpoint attempts by kind. Against Anvil, directly and through a proxy the test
stops to make an endpoint fail; a closed port on 127.0.0.1 is an endpoint that never answers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from web3 import Web3
from web3.types import RPCEndpoint

from adapters.evm.chains import connect_rpc
from adapters.metrics.definitions import NodeMetrics
from adapters.metrics.edges import RailRpcMetrics
from application.rails.config import RailConfig
from bootstrap.settlement import rpc_web3
from devtools.anvil import free_port

TIMEOUT = 2.0
ANVIL_CHAIN_ID = 31337


class Proxy:
    """Forwards JSON-RPC POSTs to Anvil until stopped; then its port refuses connections."""

    def __init__(self, target: str) -> None:
        class Forward(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                answer = requests.post(
                    target, data=body, headers={"Content-Type": "application/json"}, timeout=10
                )
                self.send_response(answer.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, format: str, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.stopped = False

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.server.shutdown()
            self.server.server_close()
            self.thread.join()


@pytest.fixture
def proxy(anvil_url: str) -> Iterator[Proxy]:
    running = Proxy(anvil_url)
    try:
        yield running
    finally:
        running.stop()


def _samples(metrics: NodeMetrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the registry's text exposition, by name and labels."""
    text = generate_latest(metrics.registry).decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(metrics: NodeMetrics, name: str, **labels: str) -> float:
    return _samples(metrics).get((name, frozenset(labels.items())), 0.0)


def _calls(metrics: NodeMetrics, rail: str, method: str, outcome: str) -> float:
    return _value(
        metrics, "settle_chain_rpc_calls_total", rail=rail, method=method, outcome=outcome
    )


def _errors(metrics: NodeMetrics, rail: str, method: str, kind: str) -> float:
    return _value(metrics, "settle_chain_rpc_errors_total", rail=rail, method=method, kind=kind)


def _latency_count(metrics: NodeMetrics, rail: str, method: str) -> float:
    return _value(metrics, "settle_chain_rpc_call_duration_seconds_count", rail=rail, method=method)


def test_calls_latency_and_rpc_errors_counted_per_rail_and_method(anvil_url: str) -> None:
    metrics = NodeMetrics()
    config = RailConfig(
        name="anvil", chain_id=ANVIL_CHAIN_ID, rpc_url=anvil_url,
        estimated_cost=1, estimated_latency_ms=1,
    )  # fmt: skip
    web3 = rpc_web3(config, TIMEOUT, RailRpcMetrics(metrics, "anvil"))
    assert _calls(metrics, "anvil", "eth_chainId", "ok") >= 1  # the check made on connecting

    before = _calls(metrics, "anvil", "eth_blockNumber", "ok")
    for _ in range(3):
        assert web3.eth.get_block_number() >= 0
    assert _calls(metrics, "anvil", "eth_blockNumber", "ok") == before + 3
    assert _latency_count(metrics, "anvil", "eth_blockNumber") == before + 3

    # A method the node refuses: the node's answer (an rpc_error), not an outage.
    answer = web3.provider.make_request(RPCEndpoint("eth_noSuchMethod"), [])
    assert "error" in answer
    assert _calls(metrics, "anvil", "eth_noSuchMethod", "rpc_error") == 1
    assert _errors(metrics, "anvil", "eth_noSuchMethod", "rpc_error") == 1
    assert _calls(metrics, "anvil", "eth_noSuchMethod", "error") == 0
    # A name that is no JSON-RPC method does not become a label value of its own.
    web3.provider.make_request(RPCEndpoint("not a method; drop table"), [])
    assert _calls(metrics, "anvil", "other", "rpc_error") == 1
    assert not any(
        dict(labels).get("method") == "not a method; drop table" for _, labels in _samples(metrics)
    )


def test_a_failed_over_call_is_an_ok_call_and_a_connection_error(
    anvil_url: str, proxy: Proxy
) -> None:
    metrics = NodeMetrics()
    web3 = connect_rpc(
        [proxy.url, anvil_url], TIMEOUT, ANVIL_CHAIN_ID, RailRpcMetrics(metrics, "base")
    )
    assert web3.eth.get_block_number() >= 0
    assert _calls(metrics, "base", "eth_blockNumber", "ok") == 1
    assert _errors(metrics, "base", "eth_blockNumber", "connection") == 0

    proxy.stop()
    assert web3.eth.get_block_number() >= 0  # answered by Anvil after the proxy refused
    assert _calls(metrics, "base", "eth_blockNumber", "ok") == 2
    assert _errors(metrics, "base", "eth_blockNumber", "connection") == 1
    assert _calls(metrics, "base", "eth_blockNumber", "error") == 0


def test_a_call_no_endpoint_answers_is_an_error(anvil_url: str, proxy: Proxy) -> None:
    metrics = NodeMetrics()
    closed = f"http://127.0.0.1:{free_port()}"
    web3: Web3 = connect_rpc(
        [proxy.url, closed], TIMEOUT, ANVIL_CHAIN_ID, RailRpcMetrics(metrics, "base")
    )
    proxy.stop()
    with pytest.raises(requests.ConnectionError):
        assert web3.eth.get_block_number() >= 0
    assert _calls(metrics, "base", "eth_blockNumber", "error") == 1
    assert _errors(metrics, "base", "eth_blockNumber", "connection") == 1
    assert _calls(metrics, "base", "eth_blockNumber", "ok") == 0
    assert _latency_count(metrics, "base", "eth_blockNumber") == 1
