"""The one registry of followers: every projection that follows the event log, what it is and
whether it has effects outside the database. `settle run` runs them all, `settle replay` rebuilds
the read models among them, and the metrics report each one's lag.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from application.processes.channel_provisioner import ChannelProvisioner
from application.processes.settlement_monitor import SettlementMonitor
from projections.balances import BalancesProjection
from projections.channels import ChannelsProjection
from projections.connector_notices import ConnectorNotices
from projections.engine_retries import EngineSettlementRetries
from projections.event_chain import EventChainProjection
from projections.fraud_rules import FraudRulesProjection
from projections.kafka_publisher import KafkaPublisher
from projections.ledger_postings import LedgerPostingsProjection
from projections.runner import Projection
from projections.settlements import SettlementsProjection

if TYPE_CHECKING:
    from bootstrap.node import Node
    from bootstrap.settlement import SettlementProcess

Kind = Literal["read_model", "audit", "process", "outbound"]


@dataclass(frozen=True)
class Follower:
    projection: Projection
    kind: Kind
    # Sends something outside the database (ledger, Kafka, chain): only the leader runs it.
    external: bool

    @property
    def name(self) -> str:
        return self.projection.name

    @property
    def leader_only(self) -> bool:
        """Run by the leading instance only: it acts outside the database, or it decides
        (requests settlements, opens channels) and one decider is enough."""
        return self.external or self.kind == "process"


def read_model_projections(schema: str = "public") -> list[Projection]:
    """The read models, writing into `schema` (a fresh one when `settle replay` rebuilds)."""
    return [BalancesProjection(schema), ChannelsProjection(schema), SettlementsProjection(schema)]


def followers(
    node: Node,
    clock: Callable[[], datetime],
    settlement: SettlementProcess | None,
    ledger: Projection,
    kafka: Projection | None,
    connector_notices: Projection | None = None,
    engine_retries: Projection | None = None,
) -> list[Follower]:
    """Every follower of a node, in the order they are started. The outbound ones are built by
    the caller (the settlement process waits on the ledger's progress)."""
    registry = [Follower(p, "read_model", external=False) for p in read_model_projections()]
    registry.append(Follower(EventChainProjection(), "audit", external=False))
    registry.append(Follower(SettlementMonitor(node.app, clock), "process", external=False))
    fraud_rules = FraudRulesProjection(node.app, node.settings.fraud)
    registry.append(Follower(fraud_rules, "process", external=False))
    if settlement is not None and node.settings.settlement.provision_on_registration:
        registry.append(Follower(settlement.provisioner, "process", external=True))
    if connector_notices is not None:
        registry.append(Follower(connector_notices, "process", external=False))
    if engine_retries is not None:
        registry.append(Follower(engine_retries, "process", external=False))
    registry.append(Follower(ledger, "outbound", external=True))
    if kafka is not None:
        registry.append(Follower(kafka, "outbound", external=True))
    return registry


def follower_names(node: Node) -> list[str]:
    """The tracking names of the followers `settle run` starts (for lag reports), without
    building any adapter."""
    settings = node.settings
    names = [p.name for p in read_model_projections()]
    names += [EventChainProjection.name, SettlementMonitor.name, FraudRulesProjection.name]
    rails = any(r.enabled for r in settings.rails.rails)
    if settings.settlement.provision_on_registration and rails:
        names.append(ChannelProvisioner.name)
    if settings.engine.enabled:
        names += [ConnectorNotices.name, EngineSettlementRetries.name]
    names.append(LedgerPostingsProjection.name)
    if settings.kafka.enabled:
        names.append(KafkaPublisher.name)
    return names
