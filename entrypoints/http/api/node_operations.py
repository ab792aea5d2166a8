"""What the operator's chain routes need from the running node: one port, `NodeOperations`.

The routes close and settle channels and show the rails' live breaker state and routing score;
bootstrap implements the port over the node's settlement process and leadership lock (only the
leader sends chain transactions: one key, one nonce sequence). The refusals are typed here so
the routes map each to its status without knowing what raised it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID


class OperationUnavailable(Exception):
    """The node runs without what the operation needs (no rails, no rail for the channel): 503."""

    def __init__(self, missing: str) -> None:
        self.missing = missing
        super().__init__(missing)


class NotLeader(Exception):
    """Another instance leads and alone sends chain transactions: 409."""

    def __init__(self, leader: str | None) -> None:
        self.leader = leader
        named = f"node {leader!r} leads" if leader else "no node leads right now"
        super().__init__(f"{named}: chain transactions are sent by the leader only; ask it")


class UnknownChannel(Exception):
    """No channel has this id: 404."""

    def __init__(self, channel_id: UUID) -> None:
        self.channel_id = channel_id
        super().__init__(f"no channel {channel_id}")


class ChannelNotReady(Exception):
    """The channel is not in a state for the operation (or its challenge period runs): 409."""

    def __init__(self, channel_id: UUID, state: str, problem: str) -> None:
        self.channel_id = channel_id
        self.state = state
        self.problem = problem
        super().__init__(f"channel {channel_id} is {state}: {problem}")


@dataclass(frozen=True)
class ChannelOutcome:
    """A channel after an operator's close or settle; amounts in token base units."""

    channel_id: UUID
    state: str
    rail: str | None
    token_decimals: int
    tx_hash: str | None = None
    settled_now: bool = False
    our_amount: int | None = None
    partner_amount: int | None = None


@dataclass(frozen=True)
class RailStanding:
    """One rail as the node's coordinator sees it now: breaker state and, when it may take a
    settlement, its routing score (0..1, against the other usable rails); else `unusable`."""

    name: str
    chain_id: int
    token_network: str | None
    enabled: bool
    breaker: str
    score: float | None
    success_rate: float | None
    latency_ms: float
    unusable: str | None


@dataclass(frozen=True)
class RailsStanding:
    node_id: str
    leading: bool
    rails: list[RailStanding]


class NodeOperations(Protocol):
    def close_channel(self, channel_id: UUID, reason: str) -> ChannelOutcome:
        """Abandons the channel (recorded first), then closes it on chain."""
        ...

    def settle_channel(self, channel_id: UUID) -> ChannelOutcome:
        """Pays out a closed channel once its challenge period is over (a settled one as is)."""
        ...

    def rails(self) -> RailsStanding: ...
