"""Use cases on peer accounts: open, record packets, reserve/apply/release settlements, operator
changes. Each loads the account, runs one command and saves what it recorded, atomically."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar
from uuid import UUID

from application.store import AggregateStore, AlreadyExists, NotFound
from domain.money import Asset, check_asset_code
from domain.peer_account import BatchResult, PacketEntry, PeerAccount, check_peer_id

R = TypeVar("R")


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
            terms = {
                "asset_scale": (existing.asset_scale, asset.scale),
                "threshold": (existing.threshold, threshold),
                "settle_to": (existing.settle_to, settle_to),
                "credit_limit": (existing.credit_limit, credit_limit),
            }
            other = [f"{name}={new} (is {old})" for name, (old, new) in terms.items() if old != new]
            if other:
                raise AlreadyExists(
                    "peer account",
                    f"{peer_id}/{asset.code}",
                    "with other terms: " + ", ".join(other),
                ) from None
            return existing.id

    def peer_account(self, peer_id: str, asset_code: str) -> PeerAccount:
        return self._load_named(peer_id, asset_code)

    def record_packets(
        self, peer_id: str, asset_code: str, batch_id: str, entries: Sequence[PacketEntry]
    ) -> BatchResult:
        """Records one batch of packet postings once; the same batch again is a duplicate."""
        return self._change_named(
            peer_id, asset_code, lambda a: a.record_packets(batch_id, entries)
        )

    def register_peer(
        self,
        peer_id: str,
        asset_code: str,
        address: str,
        rails: Sequence[str],
        preferred_rail: str,
        claims_url: str,
    ) -> bool:
        """Records where and how the peer settles; False when nothing changed."""
        return self._change_named(
            peer_id,
            asset_code,
            lambda a: a.register(address, list(rails), preferred_rail, claims_url),
        )

    def _load_named(self, peer_id: str, asset_code: str) -> PeerAccount:
        account_id = _account_id(peer_id, asset_code)
        try:
            return self.load(account_id, PeerAccount)
        except NotFound:
            raise NotFound("peer account", f"{peer_id}/{asset_code}") from None

    def _change_named(
        self, peer_id: str, asset_code: str, command: Callable[[PeerAccount], R]
    ) -> R:
        """`_change` on the account named peer/asset; an unknown account is named, not its id."""
        account_id = _account_id(peer_id, asset_code)
        try:
            return self._change(account_id, PeerAccount, command)
        except NotFound:
            raise NotFound("peer account", f"{peer_id}/{asset_code}") from None

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



def _account_id(peer_id: str, asset_code: str) -> UUID:
    """The account's id from its names, once both are checked (a name that cannot exist is bad
    input, not an unknown account)."""
    return PeerAccount.create_id(check_peer_id(peer_id), check_asset_code(asset_code))
