"""Wiring of `settle run` from the settings: followers, the settlement process, the claims
endpoint, the chain watchers — every long-running part of a node."""

from __future__ import annotations

import logging
import random
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import FrameType

from web3 import Web3

from adapters.evm.rail import load_signer
from adapters.ledger.factory import build_chart, build_ledger
from application.processes.settlement_monitor import SettlementMonitor
from application.rails.config import RailConfig
from bootstrap.node import Node, read_model_projections
from bootstrap.settlement import SettlementProcess, build_settlement_process, rpc_web3
from projections.ledger_postings import LedgerPostingsProjection
from projections.runner import Projection, ProjectionRunner

log = logging.getLogger(__name__)


def ledger_projection(node: Node) -> LedgerPostingsProjection:
    settings = node.settings.ledger
    return LedgerPostingsProjection(
        build_ledger(settings, node.database_url), build_chart(settings)
    )


@dataclass
class Service:
    node: Node
    followers: list[ProjectionRunner]
    settlement: SettlementProcess | None
    closers: list[Callable[[], None]] = field(default_factory=list)


def build_service(node: Node, clock: Callable[[], datetime]) -> Service:
    settings = node.settings
    ledger_runner = node.runner(ledger_projection(node))
    projections: list[Projection] = [*read_model_projections(), SettlementMonitor(node.app, clock)]
    service = Service(node, [], None)
    configured = [r for r in settings.rails.rails if r.enabled]
    if configured:
        web3s: dict[str, Web3] = {}

        def web3_for(config: RailConfig) -> Web3:
            key = config.rpc_url or ""
            if key not in web3s:
                web3s[key] = rpc_web3(config, settings.chain.rpc_timeout_seconds)
            return web3s[key]

        process = build_settlement_process(
            node,
            load_signer(settings.chain),
            configured,
            web3_for,
            clock,
            random.Random(),
            ledger_runner=ledger_runner,
            drive_ledger=False,
        )
        service.settlement = process
        if settings.settlement.provision_on_registration:
            projections.append(process.provisioner)
        service.closers.append(process.close)
    service.followers = [node.runner(p) for p in projections] + [ledger_runner]
    if settings.kafka.enabled:
        from entrypoints.cli.kafka import publisher_runner

        runner, producer = publisher_runner(node)
        service.followers.append(runner)
        service.closers.append(producer.close)
    return service


def run(service: Service, stop: threading.Event) -> None:
    """Runs every part until `stop` is set; a part that cannot go on stops the node loudly."""
    threads: list[threading.Thread] = []

    def start(name: str, target: Callable[[], None]) -> None:
        def guarded() -> None:
            try:
                target()
            except Exception:
                log.exception("node part stopped on an error", extra={"part": name})
                stop.set()

        thread = threading.Thread(target=guarded, name=name, daemon=True)
        thread.start()
        threads.append(thread)

    process = service.settlement
    if process is not None:
        tokens = {p: t.get_secret_value() for p, t in service.node.settings.claims.tokens.items()}
        url = process.start_claims_server(tokens)
        log.info("claims endpoint listening", extra={"url": url})
        resumed = process.channels.resume_transactions()
        if resumed:
            log.info("recorded transactions resumed", extra={"count": resumed})
        start("chain-sync", lambda: _sync_chain(process, stop))
        start("settlement-executor", lambda: process.executor.run(stop))
    for runner in service.followers:
        start(runner.projection.name, lambda r=runner: r.run_forever(stop))  # type: ignore[misc]
    log.info("node running", extra={"parts": [t.name for t in threads]})
    stop.wait()
    for thread in threads:
        thread.join(timeout=30)
    for close in service.closers:
        close()
    log.info("node stopped")


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM and SIGINT stop the node after the work in hand (each step is atomic)."""

    def handle(signum: int, frame: FrameType | None) -> None:
        log.info("stopping", extra={"signal": signum})
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def _sync_chain(process: SettlementProcess, stop: threading.Event) -> None:
    interval = process.node.settings.chain.poll_interval_seconds
    backoff = interval
    while not stop.is_set():
        try:
            process.sync_chain()
            process.answer_disputes()
            backoff = interval
        except Exception as error:
            if not getattr(error, "retryable", False):
                raise
            log.warning("chain sync failed; backing off", extra={"error": str(error)})
            backoff = min(backoff * 2, 30.0)
        stop.wait(backoff)
