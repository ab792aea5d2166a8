"""Failpoints: named places where a crash test can have the process kill itself.

`SETTLE_FAILPOINTS=after_sign` (comma-separated names) makes the process SIGKILL itself the
first time it passes that point — exactly as an operator's `kill -9` would, with no cleanup.
With the variable unset (always, in production) a failpoint does nothing.
"""

from __future__ import annotations

import os
import signal

_ENV = "SETTLE_FAILPOINTS"


def failpoint(name: str) -> None:
    armed = os.environ.get(_ENV)
    if armed and name in armed.split(","):
        os.kill(os.getpid(), signal.SIGKILL)
