"""Use cases of the RFC 0038 settlement engine: accounts the connector sets up and deletes, the
settlements it instructs, and the incoming settlements we owe it word of.

An instructed settlement is one atomic save of three aggregates: the engine account records the
request under its idempotency key (and the finer leftover), the peer account takes the amount as
payable and reserves it at once, and a `Settlement` is requested that the settlement executor
drives like any other. Every amount is decided on the state being saved.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.commands.settlements import refuse_reused_id
from application.engine_quantity import Quantity, add, check_settleable, split
from application.engine_retries import retry_key
from application.store import AggregateStore, AlreadyExists, NotFound
from domain.engine_account import EngineAccount, check_engine_account_id
from domain.fingerprint import fingerprint
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry, PeerAccount
from domain.settlement import Settlement, SettlementStatus

R = TypeVar("R")

MAX_REMEMBERED_KEYS = 10_000
"""Keys an engine account remembers beyond the retention window, at most (a bounded set)."""


@dataclass(frozen=True)
class Instructed:
    """What a settlement request did: minor units settled now, and the settlement (None when
    all of it was finer than the account's scale and is kept as leftover)."""

    settled: int
    scale: int
    settlement_id: UUID | None


class EngineCommands(AggregateStore):
    def open_engine_account(
        self, account_id: str, asset: Asset, threshold: int, credit_limit: int
    ) -> bool:
        """Sets up the engine account `account_id` (the peer's id) on the peer account of that
        peer in `asset`, opening that peer account if there is none (its `threshold` sizes the
        channel's deposits; settle-to 0). False if the engine account existed."""
        check_engine_account_id(account_id)
        peer_account_id = PeerAccount.create_id(account_id, asset.code)
        try:
            peer = self.load(peer_account_id, PeerAccount)
        except NotFound:
            # Instructed amounts are reserved as they are recorded, so payable never stays at the
            # threshold: the connector alone decides when to settle.
            opened = PeerAccount.open(account_id, asset, threshold, 0, credit_limit)
            with contextlib.suppress(AlreadyExists):  # opened meanwhile by another caller
                self.create(opened)
            peer = self.load(peer_account_id, PeerAccount)
        engine = EngineAccount.open(account_id, peer.id, peer.asset_scale)
        try:
            self.create(engine)
        except AlreadyExists:
            existing = self.engine_account(account_id)
            if existing.deleted:
                raise AlreadyExists("engine account", account_id, "and was deleted") from None
            return False
        return True

    def engine_account(self, account_id: str) -> EngineAccount:
        """The live engine account; NotFound if there is none or it was deleted."""
        try:
            engine = self.load(EngineAccount.create_id(account_id), EngineAccount)
        except NotFound:
            raise NotFound("EngineAccount", account_id) from None
        if engine.deleted:
            raise NotFound("EngineAccount", account_id)
        return engine

    def delete_engine_account(self, account_id: str, at: datetime) -> None:
        self.engine_account(account_id)  # NotFound for an unknown one
        self._change(EngineAccount.create_id(account_id), EngineAccount, lambda e: e.delete(at))

    def instruct_engine_settlement(
        self, account_id: str, key: str, quantity: Quantity, at: datetime, keep_keys: timedelta
    ) -> Instructed:
        """Settles `quantity` plus the account's leftover: the whole minor units become a
        settlement, the finer rest stays as leftover. The same key again changes nothing and
        returns what the first request did."""
        engine_id = self.engine_account(account_id).id
        peer_account_id = self.engine_account(account_id).peer_account_id

        def build(engine: EngineAccount, peer: PeerAccount) -> tuple[Instructed, Settlement | None]:
            seen = engine.requests.get(key)
            if seen is not None:
                settlement = UUID(seen[1]) if seen[1] else None
                return Instructed(int(seen[0]), engine.asset_scale, settlement), None
            total = add(Quantity(*engine.leftover_quantity), quantity)
            settled, rest = split(total, engine.asset_scale)
            new: Settlement | None = None
            if check_settleable(settled) > 0:
                new = _reserve_instructed(peer, engine.instructed, settled, at)
            forget = _expired_keys(engine, at - keep_keys)
            engine.instruct_settlement(
                key,
                (quantity.amount, quantity.scale),
                (settled, (rest.amount, rest.scale)),
                new.id if new else None,
                forget,
                at,
            )
            return Instructed(settled, engine.asset_scale, new.id if new else None), new

        return self._save_engine(engine_id, peer_account_id, build)

    def owe_incoming_settlement(
        self, peer_account_id: UUID, position: int, claim_id: str, amount: int, key: str
    ) -> bool:
        """Records that the connector must hear of `amount` credited by a claim (found at log
        `position`), under idempotency key `key`; False if this position was recorded before
        or the peer account has no live engine account."""
        peer = self.load(peer_account_id, PeerAccount)
        engine_id = EngineAccount.create_id(peer.peer_id)
        if not self.exists(engine_id):
            return False
        return self._change(
            engine_id,
            EngineAccount,
            lambda e: not e.deleted and e.owe_incoming(position, claim_id, key, amount),
        )

    def acknowledge_incoming_settlement(self, engine_id: UUID, key: str, credited: int) -> bool:
        """The connector acknowledged `key`, crediting `credited` minor units."""
        return self._change(
            engine_id, EngineAccount, lambda e: e.acknowledge_incoming(key, credited)
        )

    def retry_engine_settlement(self, failed_id: UUID, at: datetime) -> UUID | None:
        """Requests again, reserved at once, an engine-instructed settlement the executor gave
        up on and released to payable (RFC 0038: the engine keeps trying; the connector is not
        refunded). One atomic save of the new settlement, the peer account and, for a dead
        letter, its resolution. Its key is the failed one's retry key, so asking twice requests
        one settlement. None when there is nothing to retry: not an engine settlement, not
        released, its engine account deleted, an operator resolved it, or nothing payable."""
        failed = self.load(failed_id, Settlement)
        key = retry_key(failed.settlement_key)
        if key is None:
            return None
        engine_id = EngineAccount.create_id(failed.peer_id)
        if not self.exists(engine_id):
            return None

        def build(
            engine: EngineAccount, peer: PeerAccount, original: Settlement
        ) -> tuple[UUID | None, Settlement | None]:
            new_id = Settlement.create_id(key)
            if self.exists(new_id):
                return new_id, None  # retried before
            released = _released(peer, original)
            if engine.deleted or not released or original.resolution is not None:
                return None, None
            amount = min(original.amount, peer.payable)
            if amount <= 0:
                return None, None  # settled meanwhile (the node's own threshold settlement)
            new = Settlement.request(key, peer.id, peer.peer_id, peer.asset_code, amount, at)
            peer.reserve(new.id, amount)  # refused while the account is paused: tried later
            if original.status == SettlementStatus.DEAD_LETTERED:
                original.resolve_dead_letter("retried", new.id, at)
            return new.id, new

        return self._save_engine(engine_id, failed.account_id, build, failed_id)

    def _save_engine(
        self,
        engine_id: UUID,
        peer_account_id: UUID,
        build: Callable[..., tuple[R, Settlement | None]],
        settlement_id: UUID | None = None,
    ) -> R:
        """Runs `build(engine, peer[, settlement])` on fresh state; saves them and any new
        settlement atomically, again on fresh state after a conflicting writer."""
        ids = [i for i in (engine_id, peer_account_id, settlement_id) if i is not None]

        def attempt() -> tuple[R, list[Aggregate]]:
            loaded: list[Aggregate] = [
                self.load(engine_id, EngineAccount, copy=False),
                self.load(peer_account_id, PeerAccount, copy=False),
            ]
            if settlement_id is not None:
                loaded.append(self.load(settlement_id, Settlement, copy=False))
            result, new = build(*loaded)
            if new is None:
                return result, loaded
            refuse_reused_id(self, new, loaded)
            return result, [*loaded, new]

        return self._save_atomically(ids, attempt)


def _reserve_instructed(peer: PeerAccount, sequence: int, amount: int, at: datetime) -> Settlement:
    """The instructed amount becomes payable on the peer account and is reserved at once for a
    new settlement (the connector already debited its own books). Named by the request's number
    on the engine account, not its key: a key may come again once forgotten."""
    tag = "rfc0038:" + fingerprint({"account": peer.peer_id, "request": sequence})[-40:]
    peer.record_packets(tag, [PacketEntry(tag, Direction.OUTGOING, amount)], at)
    settlement = Settlement.request(tag, peer.id, peer.peer_id, peer.asset_code, amount, at)
    peer.reserve(settlement.id, amount)
    return settlement


def _released(peer: PeerAccount, settlement: Settlement) -> bool:
    """The settlement ended unpaid and its amount went back to payable. An engine settlement is
    reserved when it is created; an ended one with a proof out stays open (promised) on the
    account, so one that ended and is no longer open was released."""
    ended = settlement.status in _ENDED_UNPAID
    return ended and peer.settlement_state(settlement.id) is None


_ENDED_UNPAID = frozenset(
    {SettlementStatus.FAILED, SettlementStatus.TIMED_OUT, SettlementStatus.DEAD_LETTERED}
)


def _expired_keys(engine: EngineAccount, before: datetime) -> list[str]:
    """Keys older than the retention window, and the oldest beyond MAX_REMEMBERED_KEYS."""
    by_age = sorted(engine.requests.items(), key=lambda item: str(item[1][2]))
    expired = [k for k, v in by_age if datetime.fromisoformat(str(v[2])) < before]
    overflow = len(by_age) - len(expired) - MAX_REMEMBERED_KEYS + 1
    if overflow > 0:
        expired += [k for k, _ in by_age[len(expired) : len(expired) + overflow]]
    return expired
