"""PeerAccount: what we owe a peer and what the peer owes us, in one asset.

payable: we owe the peer (raised by outgoing packets); receivable: the peer owes us (raised
by incoming packets, bounded by the credit limit); in-flight: payable reserved for a settlement.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import (
    AccountPaused,
    BatchConflict,
    BatchTooLarge,
    CreditLimitExceeded,
    ExceedsReceivable,
    InsufficientPayable,
    InvalidAmount,
    InvalidBatch,
    InvalidField,
    SettlementIdReused,
    UnknownSettlement,
)
from domain.fingerprint import FINGERPRINT_PREFIX, fingerprint
from domain.ids import derive_id
from domain.money import MAX_AMOUNT, Asset, check_amount


class Direction(StrEnum):
    INCOMING = "incoming"
    OUTGOING = "outgoing"


MAX_RECENT_FINDINGS = 256
"""Fraud finding ids an account remembers, to record each finding once."""

MAX_BATCH_ENTRIES = 100_000
"""The most entries one batch may hold, whatever the configured limit (one event per batch)."""


@dataclass(frozen=True)
class PacketEntry:
    packet_id: str
    direction: Direction
    amount: int


@dataclass(frozen=True)
class BatchResult:
    batch_id: str
    duplicate: bool
    incoming_total: int
    outgoing_total: int
    payable: int
    receivable: int
    threshold_crossed: bool


def batch_digest(entries: Sequence[PacketEntry]) -> str:
    """The batch's fingerprint, order included, to tell a replay from a conflict: a hash of the
    entries' canonical JSON, so that no packet id can make two different batches look alike."""
    return fingerprint(
        [
            {"packet_id": e.packet_id, "direction": e.direction.value, "amount": e.amount}
            for e in entries
        ]
    )


def legacy_batch_digest(entries: Sequence[PacketEntry]) -> str:
    """The digest recorded before canonical fingerprints (fields joined by tab and newline).

    Kept only to recognise a replay of a batch recorded then; never written for a new batch.
    """
    text = "\n".join(f"{e.packet_id}\t{e.direction.value}\t{e.amount}" for e in entries)
    return hashlib.sha256(text.encode()).hexdigest()


def same_batch(recorded_digest: str, entries: Sequence[PacketEntry]) -> bool:
    """Whether `entries` are the ones a batch was recorded with, whichever digest it stored."""
    if recorded_digest.startswith(FINGERPRINT_PREFIX):
        return recorded_digest == batch_digest(entries)
    return recorded_digest == legacy_batch_digest(entries)


class PeerAccount(Aggregate):
    @staticmethod
    def create_id(peer_id: str, asset_code: str) -> UUID:
        return derive_id("peer-account", peer_id, asset_code)

    class Opened(Aggregate.Created):
        peer_id: str
        asset_code: str
        asset_scale: int
        threshold: int
        settle_to: int
        credit_limit: int

    @event(Opened)
    def __init__(
        self,
        peer_id: str,
        asset_code: str,
        asset_scale: int,
        threshold: int,
        settle_to: int,
        credit_limit: int,
    ) -> None:
        self.peer_id = peer_id
        self.asset_code = asset_code
        self.asset_scale = asset_scale
        self.threshold = threshold
        self.settle_to = settle_to
        self.credit_limit = credit_limit
        self.payable = 0
        self.receivable = 0
        self.in_flight = 0
        self.paused_reason: str | None = None
        self.threshold_armed = True
        # batch id -> (digest, incoming, outgoing, payable after, receivable after, crossed)
        self.batches: dict[str, list[Any]] = {}
        # settlement id (hex) -> [amount, "reserved" | "applied" | "released"]
        self.settlements: dict[str, list[Any]] = {}
        self.claims_received: dict[str, int] = {}  # not a set: snapshots are JSON
        self.address: str | None = None
        self.rails: list[str] = []
        self.preferred_rail: str | None = None
        self.claims_url: str | None = None

    @property
    def asset(self) -> Asset:
        return Asset(self.asset_code, self.asset_scale)

    @classmethod
    def open(
        cls,
        peer_id: str,
        asset: Asset,
        threshold: int,
        settle_to: int,
        credit_limit: int,
    ) -> PeerAccount:
        check_peer_id(peer_id)
        _check_threshold(threshold, settle_to)
        check_amount("credit_limit", credit_limit, allow_zero=True)
        return cls(
            peer_id=peer_id,
            asset_code=asset.code,
            asset_scale=asset.scale,
            threshold=threshold,
            settle_to=settle_to,
            credit_limit=credit_limit,
        )

    # Packets

    def record_packets(self, batch_id: str, entries: Sequence[PacketEntry]) -> BatchResult:
        seen = self.batches.get(batch_id)
        if seen is not None:
            if not same_batch(seen[0], entries):
                raise BatchConflict(batch_id)
            return BatchResult(batch_id, True, seen[1], seen[2], seen[3], seen[4], seen[5])
        self._check_not_paused()
        incoming, outgoing = _totals(batch_id, entries)
        if self.receivable + incoming > self.credit_limit:
            raise CreditLimitExceeded(
                self.peer_id, self.asset_code, self.credit_limit, self.receivable + incoming
            )
        if self.payable + self.in_flight + outgoing > MAX_AMOUNT:
            raise InvalidBatch(batch_id, "payable would exceed 2**128-1")
        self._record_batch(
            batch_id=batch_id,
            digest=batch_digest(entries),
            entries=[[e.packet_id, e.direction.value, e.amount] for e in entries],
            incoming_total=incoming,
            outgoing_total=outgoing,
        )
        crossed = self.threshold_armed and self.payable >= self.threshold
        if crossed:
            self._cross_threshold(batch_id=batch_id, payable=self.payable, threshold=self.threshold)
        return BatchResult(
            batch_id, False, incoming, outgoing, self.payable, self.receivable, crossed
        )

    class PacketsRecorded(Aggregate.Event):
        batch_id: str
        digest: str
        entries: list[list[Any]]
        incoming_total: int
        outgoing_total: int

    @event(PacketsRecorded)
    def _record_batch(
        self,
        batch_id: str,
        digest: str,
        entries: list[list[Any]],
        incoming_total: int,
        outgoing_total: int,
    ) -> None:
        self.payable += outgoing_total
        self.receivable += incoming_total
        self.batches[batch_id] = [
            digest,
            incoming_total,
            outgoing_total,
            self.payable,
            self.receivable,
            False,
        ]

    class SettlementThresholdCrossed(Aggregate.Event):
        batch_id: str
        payable: int
        threshold: int

    @event(SettlementThresholdCrossed)
    def _cross_threshold(self, batch_id: str, payable: int, threshold: int) -> None:
        self.threshold_armed = False
        self.batches[batch_id][5] = True

    def settlement_amount(self) -> int:
        """What a settlement now should pay: payable down to settle-to."""
        return max(self.payable - self.settle_to, 0)

    # Settlements we pay: reserved (payable -> in-flight), promised once a signed proof for it is
    # out, then applied (in-flight out) or, only while no proof is out, released (back to payable).

    def reserve(self, settlement_id: UUID, amount: int) -> None:
        check_amount("amount", amount)
        self._check_not_paused()
        if settlement_id.hex in self.settlements:
            raise SettlementIdReused(settlement_id)
        if amount > self.payable:
            raise InsufficientPayable(settlement_id, amount, self.payable)
        self._reserve(settlement_id=settlement_id, amount=amount)

    class SettlementReserved(Aggregate.Event):
        settlement_id: UUID
        amount: int

    @event(SettlementReserved)
    def _reserve(self, settlement_id: UUID, amount: int) -> None:
        self.payable -= amount
        self.in_flight += amount
        self.settlements[settlement_id.hex] = [amount, "reserved"]
        if self.payable < self.threshold:
            self.threshold_armed = True

    def promise(self, settlement_id: UUID) -> None:
        """A signed proof for the settlement is out: its amount now belongs to the peer and can
        only be applied. Promising it again (a proof on a new channel) changes nothing."""
        if self.settlement_state(settlement_id) == "promised":
            return
        amount = self._reserved_amount(settlement_id)
        self._promise(settlement_id=settlement_id, amount=amount)

    class SettlementPromised(Aggregate.Event):
        settlement_id: UUID
        amount: int

    @event(SettlementPromised)
    def _promise(self, settlement_id: UUID, amount: int) -> None:
        self.settlements[settlement_id.hex][1] = "promised"

    def apply(self, settlement_id: UUID) -> None:
        amount = self._reserved_amount(settlement_id, "reserved", "promised")
        self._apply(settlement_id=settlement_id, amount=amount)

    class SettlementApplied(Aggregate.Event):
        settlement_id: UUID
        amount: int

    @event(SettlementApplied)
    def _apply(self, settlement_id: UUID, amount: int) -> None:
        self.in_flight -= amount
        self.settlements[settlement_id.hex][1] = "applied"

    def release(self, settlement_id: UUID) -> None:
        """Only a reservation with no proof out goes back to payable."""
        amount = self._reserved_amount(settlement_id)
        self._release(settlement_id=settlement_id, amount=amount)

    class SettlementReleased(Aggregate.Event):
        settlement_id: UUID
        amount: int

    @event(SettlementReleased)
    def _release(self, settlement_id: UUID, amount: int) -> None:
        self.in_flight -= amount
        self.payable += amount
        self.settlements[settlement_id.hex][1] = "released"

    def settlement_state(self, settlement_id: UUID) -> str | None:
        entry = self.settlements.get(settlement_id.hex)
        return None if entry is None else str(entry[1])

    @property
    def settlement_sequence(self) -> int:
        """How many settlements this account ever reserved: the next one's number."""
        return len(self.settlements)

    @property
    def settlement_in_flight(self) -> bool:
        """A settlement holds part of the payable (reserved or promised) and is not over."""
        return any(entry[1] in ("reserved", "promised") for entry in self.settlements.values())

    @property
    def settlement_due(self) -> bool:
        """Payable reached the threshold, nothing is in flight and the account is not paused."""
        due = self.payable >= self.threshold and self.paused_reason is None
        return due and not self.settlement_in_flight

    def _reserved_amount(self, settlement_id: UUID, *states: str) -> int:
        entry = self.settlements.get(settlement_id.hex)
        if entry is None or entry[1] not in (states or ("reserved",)):
            raise UnknownSettlement(settlement_id, "unknown" if entry is None else entry[1])
        return int(entry[0])

    # Settlements the peer pays us

    def receive_settlement(self, claim_id: str, amount: int, fingerprint: str = "") -> bool:
        """Credits a verified claim once; returns False when the claim was already received.
        `fingerprint` (a hash of the claim's body) tells a resent claim from another claim
        that reuses its id; see `received_fingerprint`."""
        check_amount("amount", amount)
        if claim_id in self.claims_received:
            return False
        if amount > self.receivable:
            raise ExceedsReceivable(claim_id, amount, self.receivable)
        self._receive(claim_id=claim_id, amount=amount, fingerprint=fingerprint)
        return True

    def received_fingerprint(self, claim_id: str) -> str | None:
        """The fingerprint a received claim was credited with ("" if credited before fingerprints
        were kept), or None if no claim with this id was credited."""
        if claim_id not in self.claims_received:
            return None
        return self._claim_fingerprints().get(claim_id, "")

    def _claim_fingerprints(self) -> dict[str, str]:
        # Kept beside claims_received (whose values stay the amounts); accounts and snapshots
        # stored before fingerprints existed have none, so it is made on first use.
        fingerprints: dict[str, str] = self.__dict__.setdefault("claim_fingerprints", {})
        return fingerprints

    class SettlementReceived(Aggregate.Event):
        claim_id: str
        amount: int
        fingerprint: str = ""  # absent from events stored before it was kept

    @event(SettlementReceived)
    def _receive(self, claim_id: str, amount: int, fingerprint: str = "") -> None:
        self.receivable -= amount
        self.claims_received[claim_id] = amount
        if fingerprint:
            self._claim_fingerprints()[claim_id] = fingerprint

    # Registration: where and how the peer settles

    class PeerRegistered(Aggregate.Event):
        address: str
        rails: list[str]
        preferred_rail: str
        claims_url: str

    def register(
        self, address: str, rails: list[str], preferred_rail: str, claims_url: str
    ) -> bool:
        """Records the peer's chain address, rails and claims endpoint; False if unchanged."""
        if not (address.startswith("0x") and len(address) == 42):
            raise InvalidField("address", address, "must be a 0x-prefixed 20-byte hex address")
        if not rails or len(set(rails)) != len(rails):
            raise InvalidField("rails", rails, "must name at least one rail, each once")
        if preferred_rail not in rails:
            raise InvalidField("preferred_rail", preferred_rail, f"must be one of {rails}")
        if not claims_url.startswith(("http://", "https://")):
            raise InvalidField("claims_url", claims_url, "must be an http(s) URL")
        current = (self.address, self.rails, self.preferred_rail, self.claims_url)
        if current == (address, list(rails), preferred_rail, claims_url):
            return False
        self._register(
            address=address, rails=list(rails), preferred_rail=preferred_rail, claims_url=claims_url
        )
        return True

    @event(PeerRegistered)
    def _register(
        self, address: str, rails: list[str], preferred_rail: str, claims_url: str
    ) -> None:
        self.address = address
        self.rails = list(rails)
        self.preferred_rail = preferred_rail
        self.claims_url = claims_url

    # Administration

    class Paused(Aggregate.Event):
        reason: str  # a fraud rule's pause names the rule: "fraud rule <rule> (<finding id>)"

    def pause(self, reason: str) -> None:
        if not reason:
            raise InvalidField("reason", reason, "a pause needs a reason")
        if self.paused_reason is None:
            self._pause(reason=reason)

    @event(Paused)
    def _pause(self, reason: str) -> None:
        self.paused_reason = reason

    class Resumed(Aggregate.Event):
        resumed_by: str = ""  # absent from events stored before it was kept

    def resume(self, resumed_by: str = "") -> None:
        if self.paused_reason is not None:
            self._resume(resumed_by=resumed_by)

    @event(Resumed)
    def _resume(self, resumed_by: str = "") -> None:
        self.paused_reason = None

    # Fraud findings (from the fraud rules follower): each recorded once by its id.

    class FraudSuspected(Aggregate.Event):
        finding_id: str
        rule: str
        facts: dict[str, Any]
        action: str  # "alert" or "pause"

    def suspect_fraud(
        self, finding_id: str, rule: str, facts: dict[str, Any], pause: bool
    ) -> bool:
        """Records a finding once (False if its id was recorded lately); with `pause`, also
        pauses the account naming the rule, unless it is paused already."""
        if not finding_id or not rule:
            raise InvalidField("finding_id", finding_id, "a finding needs an id and a rule")
        if finding_id in self._recent_findings():
            return False
        action = "pause" if pause else "alert"
        self._suspect_fraud(finding_id=finding_id, rule=rule, facts=facts, action=action)
        if pause and self.paused_reason is None:
            self._pause(reason=f"fraud rule {rule} ({finding_id})")
        return True

    def _recent_findings(self) -> list[str]:
        # Made on first use: accounts and snapshots stored before findings existed have none.
        recent: list[str] = self.__dict__.setdefault("recent_findings", [])
        return recent

    @event(FraudSuspected)
    def _suspect_fraud(
        self, finding_id: str, rule: str, facts: dict[str, Any], action: str
    ) -> None:
        recent = self._recent_findings()
        recent.append(finding_id)
        # A finding repeats only when its follower re-applies its last batch: a short memory
        # suffices, and the state kept per account stays bounded.
        del recent[:-MAX_RECENT_FINDINGS]

    class ThresholdChanged(Aggregate.Event):
        threshold: int
        settle_to: int

    def change_threshold(self, threshold: int, settle_to: int) -> None:
        _check_threshold(threshold, settle_to)
        self._change_threshold(threshold=threshold, settle_to=settle_to)

    @event(ThresholdChanged)
    def _change_threshold(self, threshold: int, settle_to: int) -> None:
        self.threshold = threshold
        self.settle_to = settle_to
        if self.payable < threshold:
            self.threshold_armed = True

    class CreditLimitChanged(Aggregate.Event):
        credit_limit: int

    def change_credit_limit(self, credit_limit: int) -> None:
        check_amount("credit_limit", credit_limit, allow_zero=True)
        self._change_credit_limit(credit_limit=credit_limit)

    @event(CreditLimitChanged)
    def _change_credit_limit(self, credit_limit: int) -> None:
        self.credit_limit = credit_limit

    def _check_not_paused(self) -> None:
        if self.paused_reason is not None:
            raise AccountPaused(self.peer_id, self.asset_code, self.paused_reason)


def check_peer_id(peer_id: str) -> str:
    """Returns `peer_id` if it can name a peer: 1 to 128 printable characters, not padded."""
    if not peer_id or len(peer_id) > 128:
        raise InvalidField("peer_id", peer_id, "must be 1 to 128 characters")
    if not peer_id.isprintable() or peer_id.strip() != peer_id:
        raise InvalidField(
            "peer_id", peer_id, "must be printable, with no line breaks or padding whitespace"
        )
    return peer_id


def _check_threshold(threshold: int, settle_to: int) -> None:
    check_amount("threshold", threshold)
    check_amount("settle_to", settle_to, allow_zero=True)
    if settle_to >= threshold:
        raise InvalidAmount("settle_to", settle_to, f"must be below the threshold {threshold}")


def _totals(batch_id: str, entries: Sequence[PacketEntry]) -> tuple[int, int]:
    if not entries:
        raise InvalidBatch(batch_id, "a batch needs at least one entry")
    if len(entries) > MAX_BATCH_ENTRIES:
        raise BatchTooLarge(batch_id, "entries", len(entries), MAX_BATCH_ENTRIES)
    if not batch_id or len(batch_id) > 128:
        raise InvalidBatch(batch_id, "batch_id must be 1 to 128 characters")
    incoming = outgoing = 0
    packet_ids: set[str] = set()
    for index, entry in enumerate(entries):
        check_amount(f"entries[{index}].amount", entry.amount)
        if not entry.packet_id or entry.packet_id in packet_ids:
            raise InvalidBatch(
                batch_id, f"entries[{index}].packet_id={entry.packet_id!r} is empty or repeated"
            )
        packet_ids.add(entry.packet_id)
        if entry.direction is Direction.INCOMING:
            incoming += entry.amount
        else:
            outgoing += entry.amount
    return incoming, outgoing
