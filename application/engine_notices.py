"""Incoming settlements our connector must hear of (RFC 0038 "Credit incoming settlement"), told
until it acknowledges them, with the same Idempotency-Key every time.

This module holds the port to the connector and the retry schedule. `ConnectorNotices`
(projections/connector_notices.py) follows the log with a tracking row: a claim credited to a
peer account that has an engine account becomes an obligation event on that engine account (once
per log position, its key drawn from a CSPRNG before the event); obligations go into
`engine_notices` and leave it when their acknowledgement is recorded. `send_due` tells the
connector every due notice; a failure reschedules it in the table (exponential backoff with
jitter, at most an hour apart, for ever), so the schedule survives a restart.
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta
from typing import Protocol

from application.engine_quantity import Quantity

log = logging.getLogger(__name__)

MAX_RETRY_INTERVAL = timedelta(hours=1)
FIRST_RETRY_INTERVAL = timedelta(seconds=1)
SEND_BATCH = 50


class ConnectorRefused(Exception):
    """The connector answered that it will not credit this settlement (a 4xx other than 408 and
    429): acknowledged as failed, with nothing credited. `retryable` is False."""

    retryable = False

    def __init__(self, status: int, detail: str) -> None:
        self.status = status
        self.detail = detail
        super().__init__(f"connector refused the settlement: HTTP {status}: {detail}")


class ConnectorPort(Protocol):
    def credit_incoming(self, account_id: str, key: str, quantity: Quantity) -> Quantity:
        """Tells the connector; returns what it credited. Raises on no answer or an error
        (retryable) or ConnectorRefused."""
        ...


def retry_interval(attempts: int, rng: random.Random) -> timedelta:
    """Exponential in the attempts so far, with jitter, never above MAX_RETRY_INTERVAL."""
    ceiling = min(FIRST_RETRY_INTERVAL * 2 ** min(attempts, 32), MAX_RETRY_INTERVAL)
    interval: timedelta = ceiling * rng.uniform(0.5, 1.0)
    return interval
