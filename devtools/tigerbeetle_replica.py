"""A single TigerBeetle replica on 127.0.0.1, for development, tests and benchmarks.

Formats a data file under `workdir` (unless it exists) and starts the replica in its own
process group; stopping kills the whole group.
"""

from __future__ import annotations

import subprocess
from importlib.metadata import version
from pathlib import Path
from types import TracebackType

from devtools.processes import die_with_parent, free_port, stop_group, wait_listening


class ReplicaStartError(Exception):
    def __init__(self, binary: str, problem: str) -> None:
        self.binary = binary
        self.problem = problem
        super().__init__(f"tigerbeetle binary={binary!r}: {problem}")


def _release(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def check_release(binary: str) -> None:
    """Refuses a binary whose cluster would evict this client for its release.

    A replica serves clients from its `release_client_min` up to its own release; outside
    that, every request fails with an eviction, so say so before starting it.
    """
    answer = subprocess.run(
        [binary, "version", "--verbose"], capture_output=True, check=False, text=True
    )
    facts = dict(
        line.split("=", 1) for line in answer.stdout.splitlines() if line.startswith("process.")
    )
    server, client_min = facts.get("process.release"), facts.get("process.release_client_min")
    if answer.returncode != 0 or server is None or client_min is None:
        raise ReplicaStartError(
            binary, f"no release in `version --verbose`: {answer.stderr[-300:]}"
        )
    client = version("tigerbeetle")
    if not _release(client_min) <= _release(client) <= _release(server):
        raise ReplicaStartError(
            binary,
            f"release {server} serves clients {client_min} to {server}; this client is {client}",
        )


class LocalReplica:
    def __init__(self, binary: str, workdir: Path, *, cluster_id: int = 0) -> None:
        self.binary = binary
        self.workdir = workdir
        self.cluster_id = cluster_id
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, *, ready_within: float = 60.0) -> LocalReplica:
        check_release(self.binary)
        self.workdir.mkdir(parents=True, exist_ok=True)
        data_file = self.workdir / f"{self.cluster_id}_0.tigerbeetle"
        if not data_file.exists():
            formatted = subprocess.run(
                [
                    self.binary,
                    "format",
                    f"--cluster={self.cluster_id}",
                    "--replica=0",
                    "--replica-count=1",
                    str(data_file),
                ],
                capture_output=True,
                check=False,
            )
            if formatted.returncode != 0:
                raise ReplicaStartError(self.binary, formatted.stderr.decode()[-500:])
        self.port = free_port()
        log_file = (self.workdir / "replica.log").open("ab")
        self._process = subprocess.Popen(
            [
                self.binary,
                "start",
                f"--addresses={self.address}",
                "--cache-grid=256MiB",
                str(data_file),
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        log_file.close()
        self._wait_ready(ready_within)
        return self

    def _wait_ready(self, ready_within: float) -> None:
        assert self._process is not None
        if wait_listening(self._process, self.port, ready_within):
            return
        exit_code = self._process.poll()
        self.stop()
        if exit_code is not None:
            raise ReplicaStartError(self.binary, f"exited with {exit_code}")
        raise ReplicaStartError(self.binary, f"not listening on {self.address} in {ready_within}s")

    def stop(self) -> None:
        process, self._process = self._process, None
        stop_group(process)

    def __enter__(self) -> LocalReplica:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
