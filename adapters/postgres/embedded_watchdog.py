"""Stops an embedded PostgreSQL when the process that started it dies without stopping it
(SIGKILL, a killed test run): the server must never outlive its owner.

    python -m adapters.postgres.embedded_watchdog OWNER_PID DATA_DIR SERVER_PID

Exits by itself once the server is gone (stopped normally or by this watchdog).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

_POLL_SECONDS = 0.5
_GRACE_SECONDS = 10.0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def server_pid(data_dir: Path) -> int | None:
    try:
        first = (data_dir / "postmaster.pid").read_text().splitlines()[0]
        return int(first)
    except (OSError, ValueError, IndexError):
        return None


def watch(owner: int, data_dir: Path, ours: int) -> None:
    """Stops server `ours` if `owner` dies first. Only that server, the one the owner started:
    once it stopped, another process may start a new server on the same data directory within
    a poll, and that one must never be stopped for our owner's death."""
    while True:
        server = server_pid(data_dir)
        if server is None or server != ours or not alive(server):
            return  # stopped normally (and perhaps started again by someone else)
        if not alive(owner):
            os.kill(server, signal.SIGINT)  # PostgreSQL's fast shutdown
            deadline = time.monotonic() + _GRACE_SECONDS
            while alive(server) and time.monotonic() < deadline:
                time.sleep(0.1)
            if alive(server):
                os.kill(server, signal.SIGKILL)
            return
        time.sleep(_POLL_SECONDS)


if __name__ == "__main__":
    watch(int(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))
