"""Adapter-edge doubles for the settlement state machine: they behave as the chain and the peer
answer, and inject the faults a test asks for. The real adapters are tested in integration."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from application.app import SettlementApp
from application.processes.ports import ChannelReadiness, Routing
from domain.channel import Channel
from domain.peer_account import PeerAccount
from domain.settlement import Settlement

OURS = "0x" + "01" * 20
THEIRS = "0x" + "02" * 20


class ChannelEdge:
    def __init__(self, app: SettlementApp) -> None:
        self.app = app
        self.faults: list[Exception] = []
        self.abandoned: list[UUID] = []
        self.opened: list[UUID] = []

    def ensure_channel(
        self, account: PeerAccount, rail: str, amount: int, at: datetime, *, may_send: bool = True
    ) -> ChannelReadiness | None:
        if self.faults:
            raise self.faults.pop(0)
        key = f"{rail}:{account.peer_id}:{len(self.abandoned)}"
        channel_id = Channel.create_id(key)
        if channel_id not in self.opened:
            if not may_send:
                return None
            channel = Channel.request_open(
                key, account.peer_id, account.asset_code, 1, "0xtn", OURS, THEIRS, 100
            )
            channel.observe_opened(len(self.opened) + 1, f"0xopen{key}", 0)
            channel.observe_deposit(OURS, 10**12, f"0xdep{key}", 0)
            self.app.create(channel)
            self.opened.append(channel_id)
        return ChannelReadiness(channel_id, f"0xdep{key}")

    def ready_channel(self, account: PeerAccount, rail: str, amount: int) -> bool:
        key = f"{rail}:{account.peer_id}:{len(self.abandoned)}"
        return Channel.create_id(key) in self.opened

    def token_amount(self, channel: Channel, amount: int, asset_scale: int) -> int:
        return amount

    def sign_proof(self, channel: Channel, nonce: int, transferred_amount: int) -> str:
        return f"0xsig-{channel.id.hex[:6]}-{nonce}-{transferred_amount}"

    def abandon(self, channel_id: UUID, reason: str) -> None:
        self.abandoned.append(channel_id)

    # Cooperative (on-chain) mode is exercised on a real chain, in integration.

    def cooperative_settlement(
        self, channel: Channel, our_transferred: int, partner_transferred: int
    ) -> str:
        raise NotImplementedError("cooperative mode")

    def sign_cooperative(self, channel: Channel, settlement: str) -> str:
        raise NotImplementedError("cooperative mode")

    def settle_cooperatively(
        self, channel_id: UUID, settlement: str, ours: str, theirs: str
    ) -> str:
        raise NotImplementedError("cooperative mode")


class ClaimEdge:
    def __init__(self) -> None:
        self.faults: list[Exception] = []
        self.delivered: list[tuple[UUID, int, int]] = []

    def deliver(self, account: PeerAccount, settlement: Settlement, channel: Channel) -> str:
        if self.faults:
            raise self.faults.pop(0)
        assert settlement.nonce is not None and settlement.transferred_amount is not None
        self.delivered.append((channel.id, settlement.nonce, settlement.transferred_amount))
        return f"receipt-{settlement.id}-{settlement.nonce}"

    def deliver_cooperatively(
        self,
        account: PeerAccount,
        settlement: Settlement,
        channel: Channel,
        terms: str,
        our_signature: str,
    ) -> tuple[str, str]:
        raise NotImplementedError("cooperative mode")


class RailsEdge:
    def __init__(self) -> None:
        self.outcomes: list[tuple[str, bool]] = []

    def route(self, account: PeerAccount, exclude: object = ()) -> Routing:
        return Routing("rail-a", {"chosen": "rail-a", "ranked": [{"rail": "rail-a", "score": 1.0}]})

    def record_outcome(self, rail: str, success: bool, latency_ms: int | None) -> None:
        self.outcomes.append((rail, success))


class DeliveryRefused(Exception):
    """What the claim client raises; classified as its real counterpart is."""

    def __init__(self, retryable: bool, message: str = "refused") -> None:
        self.retryable = retryable
        super().__init__(message)


def events_of(app: SettlementApp, aggregate_id: UUID) -> list[str]:
    return [type(e).__name__ for e in app.history(aggregate_id)]


def summary(obj: Any) -> str:
    return f"{obj}"
