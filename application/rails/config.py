"""Rail configuration: the rails a node can settle on and how the coordinator weighs them.

A rail is a chain plus a token network. `RailsSettings` is a plain pydantic model so it can sit
in the application's Settings as a nested section (env SETTLE_RAILS__...).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from application.rails.errors import RailsConfigurationError

_ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
_RAIL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
_RPC_URL_PATTERN = r"^https?://[^\s,]+$"
MAX_RPC_URLS = 8  # a bound on failover: each call tries each endpoint at most once


class RailConfig(BaseModel):
    """One rail: where it settles and what a settlement on it is expected to cost and take."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_RAIL_NAME_PATTERN)
    chain_id: int = Field(ge=1)
    rpc_url: str | None = Field(default=None, pattern=_RPC_URL_PATTERN)
    rpc_urls: list[str] = Field(
        default_factory=list,
        max_length=MAX_RPC_URLS,
        description="JSON-RPC endpoints of the chain, in order of preference; a call falls over"
        " to the next healthy one when its endpoint does not answer (rpc_url comes first).",
    )
    token_network: str | None = Field(
        default=None,
        pattern=_ADDRESS_PATTERN,
        description="Token network contract address; set after deployment.",
    )
    token: str | None = Field(default=None, min_length=1)
    confirmations: int = Field(default=0, ge=0)
    estimated_cost: int = Field(
        ge=0, description="Minor units of the asset per settlement (e.g. gas * gas price)."
    )
    estimated_latency_ms: int = Field(gt=0)
    enabled: bool = True

    @field_validator("rpc_urls")
    @classmethod
    def _endpoints_are_urls(cls, urls: list[str]) -> list[str]:
        for index, url in enumerate(urls):
            if not re.match(_RPC_URL_PATTERN, url):
                raise ValueError(f"rpc_urls[{index}] is not an http(s) URL: {url!r}")
        if len(set(urls)) != len(urls):
            raise ValueError("an endpoint appears more than once")
        return urls

    @property
    def rpc_endpoints(self) -> list[str]:
        """Every endpoint of the rail, in order of preference: `rpc_url`, then `rpc_urls`."""
        first = [self.rpc_url] if self.rpc_url else []
        return first + [url for url in self.rpc_urls if url != self.rpc_url]


class RailWeights(BaseModel):
    """How much cost, latency and recent success count in a rail's score (relative weights)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cost: float = Field(default=1.0, ge=0, allow_inf_nan=False)
    latency: float = Field(default=1.0, ge=0, allow_inf_nan=False)
    success: float = Field(default=2.0, ge=0, allow_inf_nan=False)

    @field_validator("success")
    @classmethod
    def _some_weight(cls, value: float, info: ValidationInfo) -> float:
        if value + info.data.get("cost", 0.0) + info.data.get("latency", 0.0) <= 0:
            raise ValueError("at least one of cost, latency and success must be > 0")
        return value

    @property
    def total(self) -> float:
        return self.cost + self.latency + self.success


class RailsSettings(BaseModel):
    """The `rails` section: the rails and the circuit-breaker policy shared by all of them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rails: list[RailConfig] = Field(default_factory=list)
    window: int = Field(default=20, ge=1, le=10_000, description="Outcomes in the sliding window.")
    failure_threshold: float = Field(
        default=0.10, ge=0, lt=1, description="The breaker opens above this failure rate."
    )
    cooldown_seconds: float = Field(default=30.0, gt=0, allow_inf_nan=False)
    min_outcomes: int = Field(default=5, ge=1, description="Fewer outcomes never open a breaker.")
    latency_smoothing: float = Field(
        default=0.2, gt=0, le=1, description="Weight of a new latency in the moving estimate."
    )
    weights: RailWeights = RailWeights()

    @field_validator("rails")
    @classmethod
    def _unique_names(cls, rails: list[RailConfig]) -> list[RailConfig]:
        seen: set[str] = set()
        for rail in rails:
            if rail.name in seen:
                raise ValueError(f"rail name {rail.name!r} appears more than once")
            seen.add(rail.name)
        return rails

    @field_validator("min_outcomes")
    @classmethod
    def _fits_window(cls, value: int, info: ValidationInfo) -> int:
        window = info.data.get("window")
        if window is not None and value > window:
            raise ValueError(f"must not exceed window ({window})")
        return value

    @property
    def cooldown(self) -> timedelta:
        return timedelta(seconds=self.cooldown_seconds)


def parse_rails_settings(data: Mapping[str, object]) -> RailsSettings:
    """Validates raw configuration; raises RailsConfigurationError naming the first bad field."""
    try:
        return RailsSettings.model_validate(dict(data))
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "rails"
        raise RailsConfigurationError(field, first.get("input"), first["msg"]) from None
