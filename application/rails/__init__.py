"""Rails: scoring the ways to settle, falling back between them, and circuit breakers."""

from application.rails.circuit_breaker import BreakerState, CircuitBreaker
from application.rails.config import RailConfig, RailsSettings, RailWeights, parse_rails_settings
from application.rails.coordinator import RailCoordinator
from application.rails.errors import (
    InvalidBreakerSetting,
    InvalidLatency,
    RailError,
    RailNotInDecision,
    RailsConfigurationError,
    UnknownRail,
)
from application.rails.scoring import RailScore, RoutingDecision

__all__ = [
    "BreakerState",
    "CircuitBreaker",
    "InvalidBreakerSetting",
    "InvalidLatency",
    "RailConfig",
    "RailCoordinator",
    "RailError",
    "RailNotInDecision",
    "RailScore",
    "RailWeights",
    "RailsConfigurationError",
    "RailsSettings",
    "RoutingDecision",
    "UnknownRail",
    "parse_rails_settings",
]
