"""Correlation ids for the logs: while a settlement, claim or channel is being worked on, every
log line written on this thread carries its id, whichever module writes it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import structlog


@contextmanager
def correlated(**ids: object) -> Iterator[None]:
    """Binds ids such as settlement_id=..., claim_id=..., channel_id=... for the block."""
    with structlog.contextvars.bound_contextvars(**{k: str(v) for k, v in ids.items()}):
        yield
