"""Use cases on peer accounts: open, record packets, reserve/apply/release settlements, operator
changes. Each loads the account, runs one command and saves what it recorded, atomically."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from application.store import AggregateStore, AlreadyExists
from domain.money import Asset
from domain.peer_account import BatchResult, PacketEntry, PeerAccount


class PeerAccountCommands(AggregateStore):
    def open_peer_account(
        self, peer_id: str, asset: Asset, threshold: int, settle_to: int, credit_limit: int
    ) -> UUID:
        """Opens the account; opening it again with the same terms returns the same id."""
        account = PeerAccount.open(peer_id, asset, threshold, settle_to, credit_limit)
        try:
            return self.create(account)
        except AlreadyExists:
            existing = self.load(account.id, PeerAccount)
            same = (
                existing.asset_scale,
                existing.threshold,
                existing.settle_to,
                existing.credit_limit,
            ) == (asset.scale, threshold, settle_to, credit_limit)
            if not same:
                raise AlreadyExists(
                    "peer account", f"{peer_id}/{asset.code}", "with other terms"
                ) from None
            return existing.id

    def peer_account(self, peer_id: str, asset_code: str) -> PeerAccount:
        return self.load(PeerAccount.create_id(peer_id, asset_code), PeerAccount)

    def record_packets(
        self, peer_id: str, asset_code: str, batch_id: str, entries: Sequence[PacketEntry]
    ) -> BatchResult:
        account_id = PeerAccount.create_id(peer_id, asset_code)
        return self._change(account_id, PeerAccount, lambda a: a.record_packets(batch_id, entries))

    def reserve(self, account_id: UUID, settlement_id: UUID, amount: int) -> None:
        self._change(account_id, PeerAccount, lambda a: a.reserve(settlement_id, amount))

    def apply_settlement(self, account_id: UUID, settlement_id: UUID) -> None:
        self._change(account_id, PeerAccount, lambda a: a.apply(settlement_id))

    def release(self, account_id: UUID, settlement_id: UUID) -> None:
        self._change(account_id, PeerAccount, lambda a: a.release(settlement_id))

    def receive_settlement(self, account_id: UUID, claim_id: str, amount: int) -> bool:
        return self._change(
            account_id, PeerAccount, lambda a: a.receive_settlement(claim_id, amount)
        )

    def pause(self, account_id: UUID, reason: str) -> None:
        self._change(account_id, PeerAccount, lambda a: a.pause(reason))

    def resume(self, account_id: UUID) -> None:
        self._change(account_id, PeerAccount, lambda a: a.resume())

    def change_threshold(self, account_id: UUID, threshold: int, settle_to: int) -> None:
        self._change(account_id, PeerAccount, lambda a: a.change_threshold(threshold, settle_to))

    def change_credit_limit(self, account_id: UUID, credit_limit: int) -> None:
        self._change(account_id, PeerAccount, lambda a: a.change_credit_limit(credit_limit))

    def register_peer(
        self, account_id: UUID, address: str, rails: list[str], preferred_rail: str, claims_url: str
    ) -> bool:
        """Records where and how the peer settles; False if nothing changed."""
        return self._change(
            account_id,
            PeerAccount,
            lambda a: a.register(address, rails, preferred_rail, claims_url),
        )
