"""Use cases on settlements: request once per key, then one named method per step."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from application.store import AggregateStore, AlreadyExists
from domain.peer_account import PeerAccount
from domain.settlement import Settlement


class SettlementCommands(AggregateStore):
    def request_settlement(
        self, settlement_key: str, account_id: UUID, amount: int, at: datetime
    ) -> UUID:
        """Requests a settlement once per key: the same key again returns the same id."""
        account = self.load(account_id, PeerAccount)
        settlement = Settlement.request(
            settlement_key, account_id, account.peer_id, account.asset_code, amount, at
        )
        try:
            return self.create(settlement)
        except AlreadyExists:
            return settlement.id

    def settlement(self, settlement_id: UUID) -> Settlement:
        return self.load(settlement_id, Settlement)
