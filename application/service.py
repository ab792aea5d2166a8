"""`settle run`: the long-running service — every projection and process following the log.

Each follower runs in its own thread with its own tracking record; SIGTERM or SIGINT stops
them after the batch in hand, so nothing is half-applied.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import datetime
from types import FrameType

from application.processes.settlement_monitor import SettlementMonitor
from application.wiring import Node, read_model_projections
from projections.runner import Projection, ProjectionRunner

log = logging.getLogger(__name__)


def service_projections(node: Node, clock: Callable[[], datetime]) -> list[Projection]:
    return [*read_model_projections(), SettlementMonitor(node.app, clock)]


def run_service(
    node: Node,
    clock: Callable[[], datetime],
    stop: threading.Event,
    extra: list[Projection] | None = None,
) -> None:
    runners: list[ProjectionRunner] = [
        node.runner(p) for p in [*service_projections(node, clock), *(extra or [])]
    ]
    threads = [
        threading.Thread(
            target=_follow, args=(runner, stop), name=runner.projection.name, daemon=True
        )
        for runner in runners
    ]
    for thread in threads:
        thread.start()
    log.info("service running", extra={"followers": [r.projection.name for r in runners]})
    stop.wait()
    for thread in threads:
        thread.join(timeout=30)
    log.info("service stopped")


def _follow(runner: ProjectionRunner, stop: threading.Event) -> None:
    try:
        runner.run_forever(stop)
    except Exception:
        log.exception("follower stopped on an error", extra={"follower": runner.projection.name})
        stop.set()  # a follower that cannot go on stops the service loudly, never silently


def stop_on_signals(stop: threading.Event) -> None:
    def handle(signum: int, frame: FrameType | None) -> None:
        log.info("stopping", extra={"signal": signum})
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
