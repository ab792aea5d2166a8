"""Runs a local Anvil node (npm @foundry-rs/anvil-linux-amd64) on 127.0.0.1 for tests,
benchmarks and development; the process group is killed on exit."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

from adapters.evm.chains import connect_rpc
from devtools.processes import die_with_parent, free_port

REPO = Path(__file__).resolve().parents[1]
ANVIL = REPO / "node_modules" / ".bin" / "anvil"
INSTALL_COMMAND = "npm install --no-package-lock --no-audit --no-fund"


class AnvilProcess:
    """`with AnvilProcess() as anvil: anvil.url` — an auto-mining development node."""

    def __init__(self, binary: Path = ANVIL, start_timeout_seconds: float = 30.0) -> None:
        if not binary.exists():
            raise FileNotFoundError(
                f"anvil not installed at {binary}: run `{INSTALL_COMMAND}` in {REPO}"
            )
        self.binary = binary
        self.start_timeout_seconds = start_timeout_seconds
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> AnvilProcess:
        self._process = subprocess.Popen(
            [
                str(self.binary),
                *("--host", "127.0.0.1", "--port", str(self.port)),
                *("--balance", "1000000"),  # ether per development account: many test rails
                "--silent",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        deadline = time.monotonic() + self.start_timeout_seconds
        while True:
            try:
                connect_rpc(self.url, timeout_seconds=1)
                return self
            except Exception:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    stderr = self._process.stderr.read().decode() if self._process.stderr else ""
                    self.stop()
                    raise RuntimeError(f"anvil did not start on {self.url}: {stderr}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()

    def __enter__(self) -> AnvilProcess:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
