"""The embedded server's watchdog stops only the server its owner started."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from adapters.postgres import embedded_watchdog


def _sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def _dead_pid() -> int:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


def test_a_server_started_after_ours_stopped_is_left_running(tmp_path: Path) -> None:
    ours, theirs = _sleeper(), _sleeper()
    try:
        (tmp_path / "postmaster.pid").write_text(f"{ours.pid}\n")
        owner = _sleeper()
        watcher = threading.Thread(
            target=embedded_watchdog.watch, args=(owner.pid, tmp_path, ours.pid)
        )
        watcher.start()
        # Our server stops, and another process starts a new one on the same directory; only
        # then does our owner exit.
        ours.kill()
        ours.wait()
        (tmp_path / "postmaster.pid").write_text(f"{theirs.pid}\n")
        owner.kill()
        owner.wait()
        watcher.join(timeout=30)
        assert not watcher.is_alive()
        assert theirs.poll() is None  # still running
    finally:
        for p in (ours, theirs):
            p.kill()
            p.wait()


def test_the_owners_server_is_stopped_when_the_owner_dies(tmp_path: Path) -> None:
    server = _sleeper()
    try:
        (tmp_path / "postmaster.pid").write_text(f"{server.pid}\n")
        embedded_watchdog.watch(_dead_pid(), tmp_path, server.pid)
        assert server.wait(timeout=30) != 0  # SIGINT ends the stand-in as it would PostgreSQL
    finally:
        server.kill()
        server.wait()
