"""`settle run` as a subprocess: started, killed or stopped as an operator would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SETTLE = str(Path(sys.executable).parent / "settle")


def node_environment(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SETTLE_")}
    env.pop("DATABASE_URL", None)
    env.update({"SETTLE_LOG_LEVEL": "INFO", "SETTLE_LOG_FORMAT": "json"})
    env.update(extra)
    return env


class NodeProcess:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> NodeProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [SETTLE, "run"],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._log = log
        return self

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        try:
            return self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is not None:
                self._log.close()

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM (graceful), then SIGKILL of the whole group if it does not stop in time."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()
        return self.process.returncode

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    @property
    def returncode(self) -> int | None:
        """None while the process runs; its exit code (negative: the signal) once it ended."""
        return None if self.process is None else self.process.poll()

    def kill(self) -> int:
        """SIGKILL of the whole process group, as `kill -9` by an operator: no cleanup."""
        assert self.process is not None
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        code = self.process.wait(timeout=30)
        self._log.close()
        return code

    def log_records(self) -> list[dict[str, object]]:
        """The JSON log lines written so far (a line still being written is left out)."""
        return _json_records(self.log_text())

    def acquired_epochs(self) -> list[int]:
        """The leadership epochs this process took, from its `leadership acquired` log lines."""
        return [
            int(str(record["epoch"]))
            for record in _json_records(self.log_text())
            if record.get("event") == "leadership acquired"
        ]


def _json_records(text: str) -> list[dict[str, object]]:
    records = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut short by SIGKILL
    return records


def leadership_epoch(database_url: str) -> int:
    """The epoch in `node_leadership`: it rises by one with every takeover."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT epoch FROM node_leadership WHERE id = 1").fetchone()
    return int(row[0]) if row else 0


def wait_until(
    condition: Callable[[], bool], timeout: float, what: str, process: NodeProcess | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if (
            process is not None
            and process.process is not None
            and process.process.poll() is not None
        ):
            raise AssertionError(
                f"node exited ({process.process.returncode}) before {what}:\n"
                + process.log_text()[-4000:]
            )
        if time.monotonic() > deadline:
            tail = process.log_text()[-4000:] if process else ""
            raise AssertionError(f"timed out waiting for {what}\n{tail}")
        time.sleep(0.2)
