"""Packet batches on a peer account: the values a batch is made of, and the rule that records one.

A batch raises payable (outgoing packets) and receivable (incoming, bounded by the credit limit)
once. Which batch ids were seen is NOT kept here: an idempotency set in the aggregate would grow
with history, and every snapshot with it. The application keeps them in an index written in the
same transaction as the event (`application.batch_index`), asks it before it calls
`record_packets`, and answers a replay from it (`replayed`). `PacketBatches` is a part of
`domain.peer_account.PeerAccount`; its events are stored under PeerAccount's topics
(`domain.peer_account:PeerAccount.PacketsRecorded`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from json.encoder import encode_basestring_ascii
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

from domain.errors import BatchConflict, BatchTooLarge, CreditLimitExceeded, InvalidBatch
from domain.fingerprint import FINGERPRINT_PREFIX, fingerprint
from domain.money import MAX_AMOUNT, check_amount

if TYPE_CHECKING:
    from domain.peer_account import PeerAccount

    _Base = Aggregate
else:
    # A plain class, so that PeerAccount redefines these events as its own (see PeerAccount).
    _Base = object


class Direction(StrEnum):
    INCOMING = "incoming"
    OUTGOING = "outgoing"


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


@dataclass(frozen=True)
class RecordedBatch:
    """What is kept of a recorded batch outside the account: enough to tell a replay from a
    conflict and to answer a replay with the first result."""

    digest: str
    version: int  # the account's version once the batch was recorded
    incoming_total: int
    outgoing_total: int
    threshold_crossed: bool


def batch_digest(entries: Sequence[PacketEntry]) -> str:
    """The batch's fingerprint, order included, to tell a replay from a conflict: a hash of the
    entries' canonical JSON, so that no packet id can make two different batches look alike."""
    text = _canonical_entries(entries)
    if text is None:  # a field of an unexpected type: the general encoder says what is wrong
        return fingerprint(
            [
                {"packet_id": e.packet_id, "direction": e.direction.value, "amount": e.amount}
                for e in entries
            ]
        )
    return FINGERPRINT_PREFIX + hashlib.sha256(text.encode("ascii")).hexdigest()


# The canonical JSON of each direction, and the start of an entry's object (keys sorted).
_QUOTED_DIRECTION = {d: encode_basestring_ascii(d.value) for d in Direction}
_DIRECTION_VALUE = {d: d.value for d in Direction}
_INCOMING = Direction.INCOMING


def _canonical_entries(entries: Sequence[PacketEntry]) -> str | None:
    """`canonical_json` of the entries as `batch_digest` lists them, written directly (the
    digest of a large batch was most of the cost of recording it); None when a field is not of
    its exact type, so the general encoder decides. Equal to it: a unit test compares them."""
    quoted = _QUOTED_DIRECTION
    parts = []
    for e in entries:
        if type(e.packet_id) is not str or type(e.amount) is not int:
            return None
        direction = quoted.get(e.direction) if type(e.direction) is Direction else None
        if direction is None:
            return None
        parts.append(
            f'{{"amount":{e.amount},"direction":{direction},'
            f'"packet_id":{encode_basestring_ascii(e.packet_id)}}}'
        )
    return "[" + ",".join(parts) + "]"


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


class PacketBatches(_Base):
    """Recording packet batches, and arming and crossing the settlement threshold."""

    if TYPE_CHECKING:  # state PeerAccount.__init__ sets; declared here for mypy only
        peer_id: str
        asset_code: str
        credit_limit: int
        threshold: int
        settle_to: int
        payable: int
        receivable: int
        in_flight: int
        threshold_armed: bool

        def _check_not_paused(self) -> None: ...

    class PacketsRecorded(Aggregate.Event):
        batch_id: str
        digest: str
        entries: list[list[Any]]
        incoming_total: int
        outgoing_total: int
        # When the connector made the batch (UTC); None in events stored before it was kept.
        made_at: datetime | None = None

        def apply(self, account: PeerAccount) -> None:
            account.payable += self.outgoing_total
            account.receivable += self.incoming_total

    class SettlementThresholdCrossed(Aggregate.Event):
        batch_id: str
        payable: int
        threshold: int

        def apply(self, account: PeerAccount) -> None:
            account.threshold_armed = False

    def record_packets(
        self, batch_id: str, entries: Sequence[PacketEntry], made_at: datetime | None = None
    ) -> BatchResult:
        """Records a batch the caller has found to be new (see the module's docstring)."""
        self._check_not_paused()
        incoming, outgoing = _totals(batch_id, entries)
        if self.receivable + incoming > self.credit_limit:
            raise CreditLimitExceeded(
                self.peer_id, self.asset_code, self.credit_limit, self.receivable + incoming
            )
        if self.payable + self.in_flight + outgoing > MAX_AMOUNT:
            raise InvalidBatch(batch_id, "payable would exceed 2**128-1")
        self.trigger_event(
            self.PacketsRecorded,
            batch_id=batch_id,
            digest=batch_digest(entries),
            entries=[[e.packet_id, _DIRECTION_VALUE[e.direction], e.amount] for e in entries],
            incoming_total=incoming,
            outgoing_total=outgoing,
            made_at=made_at,
        )
        crossed = self.threshold_armed and self.payable >= self.threshold
        if crossed:
            self.trigger_event(
                self.SettlementThresholdCrossed,
                batch_id=batch_id,
                payable=self.payable,
                threshold=self.threshold,
            )
        return BatchResult(
            batch_id, False, incoming, outgoing, self.payable, self.receivable, crossed
        )

    def replayed(
        self, batch_id: str, entries: Sequence[PacketEntry], recorded: RecordedBatch
    ) -> BatchResult:
        """The first result of a batch recorded before (`recorded`, with this account as it was
        right after that batch, at `recorded.version`); BatchConflict if `entries` differ."""
        if not same_batch(recorded.digest, entries):
            raise BatchConflict(batch_id)
        return BatchResult(
            batch_id,
            True,
            recorded.incoming_total,
            recorded.outgoing_total,
            self.payable,
            self.receivable,
            recorded.threshold_crossed,
        )

    def settlement_amount(self) -> int:
        """What a settlement now should pay: payable down to settle-to."""
        return max(self.payable - self.settle_to, 0)


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
        if entry.direction is _INCOMING:
            incoming += entry.amount
        else:
            outgoing += entry.amount
    return incoming, outgoing
