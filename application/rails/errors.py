"""Rail errors: each carries the facts as attributes and names the field and value."""

from __future__ import annotations


class RailError(Exception):
    """A rail request that cannot be served as asked."""


class RailsConfigurationError(RailError):
    """The rails configuration is invalid; `field` is the dotted path, e.g. rails.1.chain_id."""

    def __init__(self, field: str, value: object, problem: str) -> None:
        self.field = field
        self.value = value
        self.problem = problem
        super().__init__(f"{field}={value!r}: {problem}")


class InvalidBreakerSetting(RailError, ValueError):
    def __init__(self, field: str, value: object, problem: str) -> None:
        self.field = field
        self.value = value
        self.problem = problem
        super().__init__(f"{field}={value!r}: {problem}")


class UnknownRail(RailError, KeyError):
    def __init__(self, rail: str) -> None:
        self.rail = rail
        super().__init__(f"rail={rail!r}: no rail of that name is configured")

    def __str__(self) -> str:  # KeyError would otherwise quote the whole message
        return str(self.args[0])


class InvalidLatency(RailError, ValueError):
    def __init__(self, rail: str, latency_ms: int) -> None:
        self.rail = rail
        self.latency_ms = latency_ms
        super().__init__(f"latency_ms={latency_ms!r} for rail {rail!r}: must be >= 0")


class RailNotInDecision(RailError, ValueError):
    """Fallback was asked after a rail that the routing decision did not rank."""

    def __init__(self, rail: str, ranked: list[str]) -> None:
        self.rail = rail
        self.ranked = ranked
        super().__init__(f"failed_rail={rail!r}: not among the ranked rails {ranked!r}")
