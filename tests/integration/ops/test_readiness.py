"""/readyz reports each dependency: a ledger that answers is up, a chain RPC or Kafka broker that
does not makes the node not ready and names it, and the dependency gauge follows."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from adapters.ledger.factory import build_ledger
from bootstrap.health import kafka_check, ledger_check
from bootstrap.node import Node, open_node
from bootstrap.observability import build_observability
from bootstrap.settings import Settings
from devtools.anvil import free_port


@pytest.fixture
def node(database_url: str) -> Iterator[Node]:
    with open_node(Settings(database_url=database_url)) as n:
        yield n


def test_readyz_names_each_dependency_and_the_gauge_follows(node: Node) -> None:
    ledger = build_ledger(node.settings.ledger, node.database_url)
    unused = free_port()
    checks = {"ledger": ledger_check(ledger), "kafka": kafka_check([f"127.0.0.1:{unused}"])}
    observability = build_observability(node, lambda: __import__("datetime").datetime.now(), checks)
    with observability.server as server:
        answer = httpx.get(f"{server.url}/readyz", timeout=30)
        metrics = httpx.get(f"{server.url}/metrics", timeout=30).text
    ledger.close()
    body = answer.json()
    assert answer.status_code == 503 and body["status"] == "not_ready"
    assert body["dependencies"]["ledger"] == "up"
    assert body["dependencies"]["kafka"].startswith("down: ConnectionError")
    assert 'settle_dependency_up{dependency="ledger"} 1.0' in metrics
    assert 'settle_dependency_up{dependency="kafka"} 0.0' in metrics


def test_readyz_is_ready_when_every_dependency_answers(node: Node) -> None:
    ledger = build_ledger(node.settings.ledger, node.database_url)
    observability = build_observability(
        node, lambda: __import__("datetime").datetime.now(), {"ledger": ledger_check(ledger)}
    )
    with observability.server as server:
        answer = httpx.get(f"{server.url}/readyz", timeout=30)
    ledger.close()
    assert answer.status_code == 200
    assert answer.json()["dependencies"] == {"ledger": "up"}
