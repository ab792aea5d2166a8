"""Wiring of `settle run` from the settings: followers, the settlement process, the claims
endpoint, the chain watchers — every long-running part of a node."""

from __future__ import annotations

import logging
import math
import random
import signal
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from types import FrameType
from typing import TYPE_CHECKING

from adapters.ledger.factory import build_chart, build_ledger
from adapters.ledger.port import CreateResult
from adapters.metrics.definitions import NodeMetrics
from adapters.metrics.edges import RailRpcMetrics, count_claim_refusal
from adapters.postgres.event_signal import EventAnnouncer, relay_notifications
from adapters.postgres.leadership import LeaderLock
from adapters.signing.key_set import KeySet
from application.rails.circuit_breaker import BreakerState
from application.rails.config import RailConfig
from application.rails.coordinator import RailCoordinator
from application.reconciliation import Reconciler
from bootstrap.engine import Engine, build_engine
from bootstrap.followers import Follower, followers
from bootstrap.health import dependency_checks
from bootstrap.kafka import publisher_runner
from bootstrap.leader_parts import start_leader_parts
from bootstrap.leadership import lead_while_possible
from bootstrap.node import Node
from bootstrap.node_operations import LiveNodeOperations
from bootstrap.observability import Observability, build_observability
from bootstrap.reconciliation import build_reconciler
from bootstrap.settlement import SettlementProcess, build_settlement_process
from bootstrap.supervisor import Supervisor
from entrypoints.http.api.routes_claims import ClaimsEndpoint
from projections.key_needs import channels_needing_keys
from projections.ledger_postings import LedgerPostingsProjection
from projections.runner import ProjectionRunner

if TYPE_CHECKING:
    # web3, the EVM adapters and the key adapters (eth_account) take about 1.5 s to import:
    # they are imported where the rails and keys are built, never by a node with no rails.
    from web3 import Web3

log = logging.getLogger(__name__)


def ledger_projection(node: Node) -> LedgerPostingsProjection:
    settings = node.settings.ledger
    return LedgerPostingsProjection(
        build_ledger(settings, node.database_url), build_chart(settings)
    )


@dataclass
class Service:
    node: Node
    followers: list[tuple[Follower, ProjectionRunner]]
    settlement: SettlementProcess | None
    observability: Observability | None = None
    reconciler: Reconciler | None = None
    engine: Engine | None = None
    lock: LeaderLock | None = None
    exits: ExitStack = field(default_factory=ExitStack)
    closers: list[Callable[[], None]] = field(default_factory=list)


def build_service(node: Node, clock: Callable[[], datetime]) -> Service:
    settings = node.settings
    ledger = ledger_projection(node)
    ledger_runner = node.runner(ledger)
    service = Service(node, [], None)
    metrics = NodeMetrics()  # made first: the rails' RPC clients count into it
    service.lock = LeaderLock(node.database_url, settings.node_id)
    configured = [r for r in settings.rails.rails if r.enabled]
    if not configured:
        log.warning(
            "no rails configured (SETTLE_RAILS): packets are recorded and settlements requested,"
            " but none will be paid until a rail is configured"
        )
    if configured:
        from bootstrap.rails import rpc_web3

        web3s: dict[str, Web3] = {}

        def web3_for(config: RailConfig) -> Web3:
            key = ",".join(config.rpc_endpoints)
            if key not in web3s:
                observer = RailRpcMetrics(metrics, _rpc_label(configured, config))
                web3s[key] = rpc_web3(
                    config,
                    settings.chain.rpc_timeout_seconds,
                    observer,
                    settings.chain.rpc_failback_seconds,
                )
            return web3s[key]

        process = build_settlement_process(
            node,
            _node_keys(node),
            configured,
            web3_for,
            clock,
            # Retry jitter, not security (bandit B311).
            random.Random(),  # nosec B311
            ledger_runner=ledger_runner,
            drive_ledger=False,
        )
        service.settlement = process
        service.closers.append(process.close)
    kafka_runner = None
    if settings.kafka.enabled:
        kafka_runner, producer = publisher_runner(node)
        service.closers.append(producer.close)
    service.engine = build_engine(node, clock, service.settlement)
    registry = followers(
        node,
        clock,
        service.settlement,
        ledger,
        kafka_runner.projection if kafka_runner else None,
        service.engine.notices if service.engine else None,
        service.engine.retries if service.engine else None,
    )
    prebuilt = {ledger.name: ledger_runner}
    if kafka_runner is not None:
        prebuilt[kafka_runner.projection.name] = kafka_runner
    service.followers = [(f, prebuilt.get(f.name) or node.runner(f.projection)) for f in registry]
    kafka_servers = settings.kafka.servers if settings.kafka.enabled else None
    rails = service.settlement.rails if service.settlement is not None else {}
    checks = dependency_checks(ledger.ledger, rails, kafka_servers)
    claims = None
    if service.settlement is not None:
        service.settlement.receiver.on_refused = partial(count_claim_refusal, metrics)
        tokens = {p: t.get_secret_value() for p, t in settings.claims.tokens.items()}
        claims = ClaimsEndpoint(service.settlement.receiver, tokens)
    service.observability = build_observability(
        node,
        clock,
        checks,
        engine=service.engine.api if service.engine else None,
        claims=claims,
        metrics=metrics,
        operations=LiveNodeOperations(node, service.settlement, service.lock),
    )
    ledger_results = service.observability.metrics.ledger_results

    def count_results(results: Sequence[CreateResult]) -> None:
        # One increment per kind of result, not per transfer: a batch holds thousands.
        for kind, count in Counter(result.value for result in results).items():
            ledger_results.labels(kind).inc(count)

    ledger.on_results = count_results
    if service.settlement is not None:
        coordinator = service.settlement.coordinator
        breaker_open = service.observability.metrics.breaker_open
        rail_score = service.observability.metrics.rail_score
        for rail in coordinator.rails:
            breaker_open.labels(rail).set_function(partial(_breaker_open, coordinator, rail))
            rail_score.labels(rail).set_function(partial(_last_score, coordinator, rail))
    if settings.reconciliation.interval_seconds:
        service.reconciler = service.exits.enter_context(
            build_reconciler(
                node,
                service.settlement.rails if service.settlement is not None else None,
                clock,
                service.observability.metrics,
                catch_up_ledger=False,
                claim_grace=timedelta(seconds=settings.reconciliation.claim_grace_seconds),
            )
        )
        service.closers.append(service.exits.close)
    announcer = EventAnnouncer(node.database_url)
    node.app.new_events.subscribe(announcer.announce)
    service.closers.append(announcer.close)
    return service


def _rpc_label(configured: Sequence[RailConfig], config: RailConfig) -> str:
    """The `rail` label of RPC metrics: rails on the same endpoints share one client, so their
    calls are counted under their names joined ("base-usdc,base-dai")."""
    return ",".join(r.name for r in configured if r.rpc_endpoints == config.rpc_endpoints)


def _last_score(coordinator: RailCoordinator, rail: str) -> float:
    """The rail's latest routing score; NaN before any settlement was routed (read at scrape)."""
    score = coordinator.last_score(rail)
    return math.nan if score is None else score


def _breaker_open(coordinator: RailCoordinator, rail: str) -> float:
    """1 while the rail's circuit breaker is open (read at scrape time)."""
    return float(coordinator.breaker_state(rail) is BreakerState.OPEN)


def _node_keys(node: Node) -> KeySet:
    """The key ring's keys, audited (every signature is recorded: purpose, key, digest, before
    it is made): the active key for new channels and each older key an open channel needs.
    Refuses to start, naming the channels, when an open channel's key is not available
    (ChannelKeyUnavailable)."""
    from adapters.signing.node_keys import load_node_keys

    node.catch_up_read_models()
    return load_node_keys(node.app, channels_needing_keys(node.pool), node.settings.chain)


def run(service: Service, stop: threading.Event) -> int:
    """Runs every part until `stop` is set; returns the exit code: 0 after a requested stop, 1
    when a critical part failed. A follower that fails is restarted with backoff (supervisor).
    Parts that act outside the database run only while this instance leads (`leadership`)."""
    supervisor = Supervisor(stop)
    if service.observability is not None:
        restarts = service.observability.metrics.part_restarts
        supervisor.on_restart = lambda part: restarts.labels(part).inc()
    process = service.settlement
    node = service.node
    try:
        if process is not None:
            tokens = {p: t.get_secret_value() for p, t in node.settings.claims.tokens.items()}
            url = process.start_claims_server(tokens)
            log.info("claims endpoint listening", extra={"url": url})
        relay = partial(relay_notifications, node.database_url, node.app.new_events, stop)
        supervisor.start("event-relay", relay)
        if service.observability is not None:
            supervisor.start("event-metrics", partial(service.observability.follow_events, stop))
            service.observability.server.start()
            service.closers.append(service.observability.server.stop)
            log.info("http api listening", extra={"url": service.observability.server.url})
        for follower, runner in service.followers:
            if not follower.leader_only:
                supervisor.start(follower.name, partial(runner.run_forever, stop))
        lock = service.lock or LeaderLock(node.database_url, node.settings.node_id)
        leader = partial(
            lead_while_possible, lock, partial(start_leader_parts, service, lock), stop
        )
        supervisor.start("leadership", leader, critical=True)
        log.info("node running", extra={"parts": sorted(supervisor.parts)})
        wait_for_stop(stop)
    except Exception:
        log.exception("node could not start")
        stop.set()
        supervisor.fatal.append("start-up")
    finally:
        supervisor.join()
        for close in service.closers:
            close()
    if supervisor.failed:
        log.error("node stopped after a failure", extra={"parts": supervisor.fatal})
        return 1
    log.info("node stopped")
    return 0


def wait_for_stop(stop: threading.Event) -> None:
    """Blocks the main thread until `stop`, in short slices. A signal the kernel delivers to
    another thread only sets a flag; the main thread runs the handler when it next runs Python,
    which a wait with no timeout would never do: SIGTERM would be ignored."""
    while not stop.wait(0.5):
        pass


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM and SIGINT stop the node after the work in hand (each step is atomic)."""

    def handle(signum: int, frame: FrameType | None) -> None:
        log.info("stopping", extra={"signal": signum})
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
