"""Local servers started by tests, benchmarks and the demo: a free port, waiting until one
listens, and stopping its process group. They must stop with their parent, also when it is
killed: on Linux the child asks the kernel for SIGKILL when its parent dies (PR_SET_PDEATHSIG)."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """A `preexec_fn`: the child is killed when the process that started it dies."""
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_listening(process: subprocess.Popen[bytes], port: int, timeout: float) -> bool:
    """Whether `process` accepts connections on `port` within `timeout` seconds; False as soon
    as it exits, so a server that failed to start is reported at once, not at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def stop_group(process: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> None:
    """Stops a server started with `start_new_session=True`: SIGTERM to its whole group, then
    SIGKILL if it has not exited within `timeout` seconds."""
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
