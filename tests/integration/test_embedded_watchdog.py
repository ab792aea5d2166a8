"""An embedded PostgreSQL never outlives the process that started it, even when that process is
SIGKILLed (a killed test run, an OOM kill): its watchdog stops the server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

_OWNER = """
import time
from pathlib import Path
from adapters.postgres.embedded import EmbeddedPostgres
EmbeddedPostgres(Path({data!r}), delete_on_stop=True).start()
print("up", flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_server_stops_when_its_owner_is_killed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    owner = subprocess.Popen(
        [sys.executable, "-c", _OWNER.format(data=str(data))], stdout=subprocess.PIPE, text=True
    )
    try:
        assert owner.stdout is not None and owner.stdout.readline().strip() == "up"
        server = int((data / "postmaster.pid").read_text().split()[0])
        assert _alive(server)
    finally:
        owner.kill()
        owner.wait()
    deadline = time.monotonic() + 60
    while _alive(server) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(server)
