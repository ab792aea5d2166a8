"""EngineAccount: one RFC 0038 settlement-engine account, tied to the peer account it settles.

It records what the connector asked us to settle (per idempotency key, with the leftover finer
than the account's scale carried to the next request), and what we owe the connector to hear
about incoming settlements (an obligation per credited claim, acknowledged once the connector
answered). Amounts finer than the account's scale are kept as a Quantity (digits, scale) so no
precision is lost; everything at the account's scale is an int of minor units.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import IllegalTransition, InvalidField
from domain.ids import derive_id

MAX_ACCOUNT_ID = 128


def check_engine_account_id(account_id: str) -> str:
    """Returns `account_id` if it is a URL-safe string (RFC 3986 unreserved characters)."""
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    if not account_id or len(account_id) > MAX_ACCOUNT_ID or not set(account_id) <= allowed:
        raise InvalidField(
            "id",
            account_id,
            f"must be 1 to {MAX_ACCOUNT_ID} URL-safe characters (A-Z a-z 0-9 -._~)",
        )
    return account_id


class EngineAccount(Aggregate):
    @staticmethod
    def create_id(account_id: str) -> UUID:
        return derive_id("engine-account", account_id)

    class Created(Aggregate.Created):
        account_id: str
        peer_account_id: UUID
        asset_scale: int

    @event(Created)
    def __init__(self, account_id: str, peer_account_id: UUID, asset_scale: int) -> None:
        self.account_id = account_id
        self.peer_account_id = peer_account_id
        self.asset_scale = asset_scale
        self.deleted = False
        # Outgoing: the finer-than-scale rest of what the connector asked us to settle.
        self.leftover: list[Any] = ["0", asset_scale]  # [digits, scale]
        # idempotency key -> [settled minor units, settlement id hex or "", at iso]
        self.requests: dict[str, list[Any]] = {}
        self.instructed = 0  # requests recorded so far: numbers each one, keys may come again
        # Incoming: idempotency key -> minor units the connector has yet to acknowledge.
        self.owed: dict[str, int] = {}
        self.uncredited = 0  # what the connector acknowledged less than it was told, kept
        self.last_owed_position = 0

    @classmethod
    def open(cls, account_id: str, peer_account_id: UUID, asset_scale: int) -> EngineAccount:
        return cls(check_engine_account_id(account_id), peer_account_id, asset_scale)

    # Outgoing settlements the connector instructs

    class SettlementInstructed(Aggregate.Event):
        key: str
        amount: str
        scale: int
        settled: int
        settlement_id: str
        leftover: list[Any]
        forget: list[str]
        at: datetime

    def instruct_settlement(
        self,
        key: str,
        quantity: tuple[int, int],
        split: tuple[int, tuple[int, int]],
        settlement_id: UUID | None,
        forget: list[str],
        at: datetime,
    ) -> None:
        """Records the connector's request: `split` is (minor units settled now, leftover)."""
        if self.deleted:
            raise IllegalTransition("EngineAccount", self.account_id, "deleted", "settle")
        settled, (rest, rest_scale) = split
        self._instruct(
            key=key,
            amount=str(quantity[0]),
            scale=quantity[1],
            settled=settled,
            settlement_id=settlement_id.hex if settlement_id else "",
            leftover=[str(rest), rest_scale],
            forget=forget,
            at=at,
        )

    @event(SettlementInstructed)
    def _instruct(
        self,
        key: str,
        amount: str,
        scale: int,
        settled: int,
        settlement_id: str,
        leftover: list[Any],
        forget: list[str],
        at: datetime,
    ) -> None:
        for old in forget:
            self.requests.pop(old, None)
        self.requests[key] = [settled, settlement_id, at.isoformat()]
        self.leftover = leftover
        self.instructed += 1

    @property
    def leftover_quantity(self) -> tuple[int, int]:
        return int(self.leftover[0]), int(self.leftover[1])

    class Deleted(Aggregate.Event):
        at: datetime

    def delete(self, at: datetime) -> None:
        if not self.deleted:
            self._delete(at=at)

    @event(Deleted)
    def _delete(self, at: datetime) -> None:
        self.deleted = True

    # Incoming settlements the connector must hear about

    class IncomingOwed(Aggregate.Event):
        position: int
        claim_id: str
        key: str
        amount: int

    def owe_incoming(self, position: int, claim_id: str, key: str, amount: int) -> bool:
        """An obligation to tell the connector, once per log position; False if seen before.
        What the connector left uncredited before rides along with it."""
        if position <= self.last_owed_position:
            return False
        self._owe(position=position, claim_id=claim_id, key=key, amount=amount + self.uncredited)
        return True

    @event(IncomingOwed)
    def _owe(self, position: int, claim_id: str, key: str, amount: int) -> None:
        self.last_owed_position = position
        self.owed[key] = amount
        self.uncredited = 0

    class IncomingAcknowledged(Aggregate.Event):
        key: str
        credited: int
        uncredited: int

    def acknowledge_incoming(self, key: str, credited: int) -> bool:
        """The connector answered for `key`, crediting `credited` minor units (at most what it
        was told; the rest is kept and told with the next one). False if acknowledged before."""
        owed = self.owed.get(key)
        if owed is None:
            return False
        if not 0 <= credited <= owed:
            raise InvalidField("amount", credited, f"the connector credited more than {owed}")
        self._acknowledge(key=key, credited=credited, uncredited=owed - credited)
        return True

    @event(IncomingAcknowledged)
    def _acknowledge(self, key: str, credited: int, uncredited: int) -> None:
        del self.owed[key]
        self.uncredited += uncredited
