"""Supervision of a node's long-running parts: each runs on its own thread; one that fails is
reported and restarted with capped exponential backoff while the others keep running. A part
marked critical (the claims endpoint, start-up work) stops the whole node instead, and the node
then exits non-zero — never 0 after a failure.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class PartStatus:
    """What an operator (and `/readyz`) sees of one part."""

    name: str
    state: str = "starting"  # running | restarting | stopped | failed
    restarts: int = 0
    last_error: str | None = None


@dataclass
class Supervisor:
    stop: threading.Event
    initial_backoff: float = 0.5
    max_backoff: float = 300.0
    parts: dict[str, PartStatus] = field(default_factory=dict)
    on_restart: Callable[[str], None] | None = None  # e.g. the part-restarts metric
    fatal: list[str] = field(default_factory=list)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self, name: str, target: Callable[[], None], *, critical: bool = False) -> None:
        """Runs `target` until `stop` is set; `target` returning early also counts as a stop."""
        status = self.parts[name] = PartStatus(name)
        thread = threading.Thread(
            target=self._supervise, args=(status, target, critical), name=name, daemon=True
        )
        thread.start()
        self._threads.append(thread)

    def _supervise(self, status: PartStatus, target: Callable[[], None], critical: bool) -> None:
        backoff = self.initial_backoff
        while not self.stop.is_set():
            status.state = "running"
            try:
                target()
                backoff = self.initial_backoff
                if self.stop.is_set():
                    break
            except Exception as error:
                status.last_error = f"{type(error).__name__}: {error}"
                if critical:
                    status.state = "failed"
                    log.exception("node part failed; stopping node", extra={"part": status.name})
                    self.fatal.append(status.name)
                    self.stop.set()
                    return
                status.restarts += 1
                status.state = "restarting"
                if self.on_restart is not None:
                    self.on_restart(status.name)
                log.error(
                    "node part failed; restarting",
                    exc_info=True,
                    extra={"part": status.name, "restarts": status.restarts, "backoff_s": backoff},
                )
            self.stop.wait(backoff)
            backoff = min(backoff * 2, self.max_backoff)
        status.state = "stopped"

    def join(self, timeout: float = 30.0) -> None:
        for thread in self._threads:
            thread.join(timeout=timeout)

    @property
    def failed(self) -> bool:
        return bool(self.fatal)
