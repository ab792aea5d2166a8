"""A node whose events carry a settable time, and the steps the fraud tests record through the
application's named methods: packets, claims on a real channel, settlements, channel churn."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg.rows import dict_row

from application.claims_credit import CreditResult, PartnerClaim
from application.fraud import FraudSettings
from bootstrap.node import Node
from domain.channel import Channel
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry, PeerAccount
from projections.fraud_rules import FraudRulesProjection

USD = Asset("USD", 2)
OURS = "0x" + "11" * 20
PARTNER = "0x" + "22" * 20
STRANGER = "0x" + "33" * 20


class EventClock:
    """Stands in for eventsourcing's timestamp source: events are stamped with `now`."""

    def __init__(self) -> None:
        # An hour ago, to the second: findings fall in a risk window read with the real clock.
        self.now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class World:
    node: Node
    clock: EventClock
    settings: FraudSettings = field(default_factory=FraudSettings)
    counted: list[tuple[str, str]] = field(default_factory=list)
    _batches: int = 0
    _channels: int = 0
    _nonces: dict[UUID, tuple[int, int]] = field(default_factory=dict)

    def open(self, peer: str, credit_limit: int = 10**12, address: str = PARTNER) -> UUID:
        account_id = self.node.app.open_peer_account(peer, USD, 10**12, 0, credit_limit)
        self.node.app.register_peer(peer, "USD", address, ["local"], "local", "http://x/claims")
        return account_id

    def packets(
        self, peer: str, amounts: list[int], direction: Direction = Direction.OUTGOING
    ) -> None:
        self._batches += 1
        tag = f"b{self._batches}"
        entries = [PacketEntry(f"{tag}-{i}", direction, a) for i, a in enumerate(amounts)]
        self.node.app.record_packets(peer, "USD", tag, entries)

    def channel(self, peer: str, partner: str = PARTNER, deposit: int = 10**12) -> UUID:
        self._channels += 1
        channel = Channel.request_open(
            f"c{self._channels}", peer, "USD", 1, "0x" + "44" * 20, OURS, partner, 500, 2, 2
        )
        channel_id = self.node.app.create(channel)
        self.node.app.record_channel_opened(channel_id, self._channels, f"0xo{self._channels}", 0)
        self.node.app.record_deposit(channel_id, partner, deposit, f"0xd{self._channels}", 0)
        return channel_id

    def close(self, channel_id: UUID) -> None:
        self.node.app.record_channel_closed(channel_id, OURS, f"0xc{channel_id.hex}", 0)

    def claim(self, channel_id: UUID, peer: str, amount: int, stale: bool = False) -> CreditResult:
        nonce, total = self._nonces.get(channel_id, (0, 0))
        if stale:
            proof = (max(nonce - 1, 0), max(total - 1, 0))
        else:
            proof = (nonce + 1, total + amount)
            self._nonces[channel_id] = proof
        claim = PartnerClaim(
            f"{channel_id.hex}-{proof[0]}-{stale}-{self.clock.now.timestamp()}",
            "",
            proof[0],
            proof[1],
            f"0xsig{proof[0]}-{stale}-{self.clock.now.timestamp()}",
            0 if stale else amount,
        )
        return self.node.app.receive_claim(
            channel_id, PeerAccount.create_id(peer, "USD"), claim, pause_on_double_spend=False
        )

    def run_rules(self) -> list[dict[str, Any]]:
        projection = FraudRulesProjection(
            self.node.app, self.settings, on_finding=lambda r, a: self.counted.append((r, a))
        )
        self.node.runner(projection).catch_up()
        with self.node.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cursor:
            rows = cursor.execute(
                "SELECT peer_id AS peer, rule, action, facts FROM fraud_findings"
                " ORDER BY position, finding_id"
            ).fetchall()
        return [dict(row) for row in rows]

    def suspected(self, peer: str) -> list[PeerAccount.FraudSuspected]:
        events = self.node.app.history(PeerAccount.create_id(peer, "USD"))
        return [e for e in events if isinstance(e, PeerAccount.FraudSuspected)]
