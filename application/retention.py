"""The leader's retention part: forgets idempotency records older than their window.

Packet batches (`application.batch_index`) and received claims (`application.claim_index`) each
say which of their records may go; this loop runs that deletion on a schedule, only while the
node leads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


def forget_on_schedule(
    forget: Callable[[], int],
    stop: threading.Event,
    *,
    what: str,
    guard: Callable[[], bool] = lambda: True,
    every_seconds: float = 600.0,
) -> None:
    """Runs `forget` (which deletes the records no request may be checked against any more and
    says how many) every `every_seconds` while `guard` says this node still leads; logs what was
    forgotten as `what`. Harmless if two nodes ran it at once: the rows it deletes are no
    longer needed by anyone."""
    while not stop.is_set():
        if guard():
            forgotten = forget()
            if forgotten:
                log.info("records forgotten", extra={"what": what, "count": forgotten})
        stop.wait(every_seconds)
