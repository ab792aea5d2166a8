"""Use cases on claims received from peers: a proof and its credit saved together, atomically."""

from __future__ import annotations

from application.store import AggregateStore


class ClaimCommands(AggregateStore):
    pass
