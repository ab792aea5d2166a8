"""Readiness per dependency: the ledger backend, each rail's chain RPC, and Kafka when enabled.

Each check is a small call that raises when the dependency cannot serve; `/readyz` runs them and
reports each one, and the `settle_dependency_up` gauge follows. A degraded dependency makes the
node not ready for that part while recording (which needs only the database) goes on.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from typing import Any

from adapters.ledger.port import LedgerPort
from application.rails.registry import ChainRail

Check = Callable[[], None]

_KAFKA_CONNECT_TIMEOUT_SECONDS = 2.0


def ledger_check(ledger: LedgerPort) -> Check:
    def check() -> None:
        ledger.lookup_accounts([1])  # an id never used: the round trip is the check

    return check


def rail_check(rail: ChainRail) -> Check:
    def check() -> None:
        rail.network.chain_time()  # the latest block's time: one RPC call

    return check


def kafka_check(bootstrap_servers: Sequence[str]) -> Check:
    def check() -> None:
        problems = []
        for server in bootstrap_servers:
            host, _, port = server.rpartition(":")
            try:
                with socket.create_connection(
                    (host.strip("[]"), int(port)), timeout=_KAFKA_CONNECT_TIMEOUT_SECONDS
                ):
                    return
            except OSError as error:
                problems.append(f"{server}: {error}")
        raise ConnectionError("no Kafka bootstrap server answered: " + "; ".join(problems))

    return check


def dependency_checks(
    ledger: LedgerPort, rails: dict[str, ChainRail] | Any, kafka_servers: Sequence[str] | None
) -> dict[str, Check]:
    checks = {"ledger": ledger_check(ledger)}
    for name, rail in dict(rails or {}).items():
        checks[f"rail:{name}"] = rail_check(rail)
    if kafka_servers:
        checks["kafka"] = kafka_check(kafka_servers)
    return checks
