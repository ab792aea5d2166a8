"""The executor's RailPort over the RailCoordinator: routes a peer's settlement to a rail."""

from __future__ import annotations

from collections.abc import Collection

from application.processes.ports import Routing
from application.rails.coordinator import RailCoordinator
from domain.peer_account import PeerAccount


class NoRailAvailable(Exception):
    """Every rail serving the peer is disabled or behind an open breaker; try again later."""

    retryable = True
    patient = True  # breakers close again after their cool-down

    def __init__(self, peer_id: str, skipped: dict[str, str]) -> None:
        self.peer_id = peer_id
        self.skipped = skipped
        reasons = ", ".join(f"{rail}: {why}" for rail, why in skipped.items()) or "none serve it"
        super().__init__(f"no rail available for peer {peer_id!r} ({reasons})")


class CoordinatedRouting:
    def __init__(self, coordinator: RailCoordinator) -> None:
        self.coordinator = coordinator

    def route(self, account: PeerAccount, exclude: Collection[str] = ()) -> Routing:
        """The best usable rail among the peer's, preferring its preferred rail on equal terms;
        `exclude` (the rail that just failed) is passed over while another is usable."""
        served = [r for r in account.rails if r in self.coordinator.rails] or account.rails
        # Leave the failed rail out of the ranking rather than skip it afterwards: ranking a
        # half-open rail takes its single probe, which skipping it would waste.
        candidates = [r for r in served if r not in exclude] or served
        decision = self.coordinator.rank(candidates)
        chosen = decision.chosen
        if chosen is None:
            raise NoRailAvailable(account.peer_id, dict(decision.skipped))
        record = decision.as_record()
        record["chosen"] = chosen
        return Routing(chosen, record)

    def record_outcome(self, rail: str, success: bool, latency_ms: int | None) -> None:
        if rail in self.coordinator.rails:
            self.coordinator.record_outcome(rail, success, latency_ms)
