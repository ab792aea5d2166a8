"""`settle run` start-up (issue 14): the service's wiring imports web3, eth_account, the EVM and
key adapters, Kafka and the connector's HTTP client only when it builds a rail, a publisher or a
notifier, so a node with none of them starts without their seconds of imports. Each check runs
in a fresh interpreter: this test process has long imported them."""

from __future__ import annotations

import json
import subprocess  # nosec B404 - runs this interpreter on a fixed snippet
import sys

HEAVY = ("web3", "eth_account", "eth_keyfile", "py_ecc", "adapters.evm.chains", "kafka", "httpx")


def _loaded_after(statement: str) -> list[str]:
    snippet = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(  # nosec B603 - this interpreter, a fixed snippet
        [sys.executable, "-c", snippet], capture_output=True, text=True, check=True, timeout=120
    )
    modules = set(json.loads(done.stdout.splitlines()[-1]))
    return [name for name in HEAVY if name in modules]


def test_the_service_wiring_imports_no_rail_kafka_or_connector_client() -> None:
    assert _loaded_after("import bootstrap.service") == []


def test_the_operator_and_reconciliation_wiring_import_no_rail_client() -> None:
    assert _loaded_after("import bootstrap.operator, bootstrap.reconciliation") == []


def test_the_rail_builders_are_still_importable_from_the_settlement_wiring() -> None:
    loaded = _loaded_after("from bootstrap.settlement import connect_rail, rpc_web3")
    assert "web3" in loaded
