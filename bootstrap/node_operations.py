"""The running node's side of the operator's chain routes (`NodeOperations`): channels closed
and settled by the node's own settlement process, and the rails as its coordinator sees them.

Chain transactions go out only while this instance leads: the leader's executor and dispute
pass send with the same key, and sharing its process (one nonce sequence per chain) is what
keeps an operator's close from clashing with them. A standby answers NotLeader naming the
holder of the lock, so the caller knows where to ask.
"""

from __future__ import annotations

import logging
from uuid import UUID

from bootstrap.leadership import Lock
from bootstrap.node import Node
from bootstrap.operator import close_channel, leader_of, settle_channel
from bootstrap.settlement import SettlementProcess
from entrypoints.http.api.node_operations import (
    ChannelOutcome,
    NotLeader,
    OperationUnavailable,
    RailsStanding,
    RailStanding,
)

log = logging.getLogger(__name__)

NO_RAILS = "no rails configured (SETTLE_RAILS): this node runs no settlement process"


class LiveNodeOperations:
    def __init__(self, node: Node, process: SettlementProcess | None, lock: Lock) -> None:
        self._node = node
        self._process = process
        self._lock = lock

    def close_channel(self, channel_id: UUID, reason: str) -> ChannelOutcome:
        outcome = close_channel(self._leading_process(), channel_id, reason)
        log.info("channel closed by an operator", extra={"channel_id": str(channel_id)})
        return outcome

    def settle_channel(self, channel_id: UUID) -> ChannelOutcome:
        outcome = settle_channel(self._leading_process(), channel_id)
        log.info("channel settled by an operator", extra={"channel_id": str(channel_id)})
        return outcome

    def rails(self) -> RailsStanding:
        if self._process is None:
            raise OperationUnavailable(NO_RAILS)
        coordinator = self._process.coordinator
        standing = coordinator.standing()
        scores = {score.rail: score for score in standing.ranked}
        rails = []
        for name in coordinator.rails:
            config = coordinator.rail(name)
            score = scores.get(name)
            rails.append(
                RailStanding(
                    name=name,
                    chain_id=config.chain_id,
                    token_network=config.token_network,
                    enabled=config.enabled,
                    breaker=str(coordinator.breaker_state(name)),
                    score=score.score if score else None,
                    success_rate=score.success_rate if score else None,
                    latency_ms=coordinator.latency_estimate_ms(name),
                    unusable=standing.skipped.get(name),
                )
            )
        return RailsStanding(self._node.settings.node_id, self._lock.still_leader(), rails)

    def _leading_process(self) -> SettlementProcess:
        if self._process is None:
            raise OperationUnavailable(NO_RAILS)
        if not self._lock.still_leader():
            holder = leader_of(self._node.pool)
            raise NotLeader(None if holder == self._node.settings.node_id else holder)
        return self._process
