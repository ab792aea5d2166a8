"""Servers that tests and the demo start must stop with them, also when they are killed:
on Linux the child asks the kernel for SIGKILL when its parent dies (PR_SET_PDEATHSIG)."""

from __future__ import annotations

import ctypes
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """A `preexec_fn`: the child is killed when the process that started it dies."""
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
