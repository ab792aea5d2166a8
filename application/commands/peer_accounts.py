"""Use cases on peer accounts: open, record packets, operator changes. Each loads the account,
runs one command and saves what it recorded, atomically.

A settlement's amount is reserved, applied and released only by the settlement use cases
(`application/commands/settlements.py`), in the save that changes its `Settlement`: the account
forgets finished settlements, so a bare reserve here could reserve a finished settlement's id
again; the `Settlement`, which stays, is what refuses that.

Recorded batch ids live in a batch index, not in the account (`application.batch_index` says
why and how): a batch recorded already fails the save on its index row, and `record_packets`
then looks it up inside the atomic save; every save hands the index rows of the batches it
records to the event recorder, to be written with the events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import Recording

from application.batch_index import (
    MIN_WINDOW,
    RETENTION_MARGIN,
    BatchIndex,
    BatchRow,
    InMemoryBatchIndex,
    check_made_at,
    rows_of,
)
from application.clock import system_clock
from application.store import AggregateStore, AlreadyExists, NotFound
from domain.errors import DomainError
from domain.money import Asset, check_asset_code
from domain.peer_account import BatchResult, PacketEntry, PeerAccount, check_peer_id

R = TypeVar("R")


class PeerAccountCommands(AggregateStore):
    batch_window: timedelta = MIN_WINDOW
    """How long a batch id is remembered: bootstrap sets it from the settings."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self.clock: Callable[[], datetime] = system_clock
        # The PostgreSQL recorder has its table (written in its insert transaction); the
        # in-memory store gets a dict written under a lock in `_record`.
        index: BatchIndex | None = getattr(self.recorder, "batch_index", None)
        self.batch_index: BatchIndex = index if index is not None else InMemoryBatchIndex()

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        """Records the events together with the index rows of the batches they record."""
        rows = rows_of(processing_event.events)
        if not rows:
            return super()._record(processing_event)
        index = self.batch_index
        if isinstance(index, InMemoryBatchIndex):
            with index.lock:
                index.check_new(rows)
                recordings = super()._record(processing_event)
                index.add(rows)
            return recordings
        processing_event.saved_kwargs["packet_batches"] = rows
        return super()._record(processing_event)

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
        self,
        peer_id: str,
        asset_code: str,
        batch_id: str,
        entries: Sequence[PacketEntry],
        made_at: datetime | None = None,
    ) -> BatchResult:
        """Records one batch of packet postings once; the same batch again is a duplicate, other
        entries under its id a conflict. `made_at`, when the connector made the batch, must lie
        within the idempotency window: an older batch is refused (BatchOutsideWindow), since
        whether it was recorded may have been forgotten. A batch given no `made_at` has no age
        to check a replay against, so its record is never forgotten (see `rows_of`)."""
        now = self.clock()
        if made_at is not None:
            check_made_at(batch_id, made_at, now, self.batch_window)

        attempts = 0

        def record(account: PeerAccount) -> BatchResult:
            # The first attempt takes the batch for new without asking the index: if it was
            # recorded already, the save fails on the index row's primary key (written with the
            # event, in one statement) and the store runs this again, which asks the index.
            # New batches, the common case, so cost no lookup; a replay costs one failed save.
            nonlocal attempts
            attempts += 1
            if attempts > 1 and (row := self.batch_index.find(account.id, batch_id)):
                return self._replayed(account.id, batch_id, entries, row)
            try:
                return account.record_packets(batch_id, entries, made_at)
            except DomainError:
                # Refused before any event (paused, credit limit...): a replay of a batch
                # recorded before still answers its first result.
                if attempts > 1 or not (row := self.batch_index.find(account.id, batch_id)):
                    raise
                return self._replayed(account.id, batch_id, entries, row)

        return self._change_named(peer_id, asset_code, record)

    def _replayed(
        self, account_id: UUID, batch_id: str, entries: Sequence[PacketEntry], row: BatchRow
    ) -> BatchResult:
        recorded = row.recorded()
        then = self.load_version(account_id, PeerAccount, recorded.version)
        return then.replayed(batch_id, entries, recorded)

    def forget_batches_before(self, cutoff: datetime) -> int:
        """Deletes the index rows of batches made before `cutoff`; how many."""
        return self.batch_index.delete_made_before(cutoff)

    def forget_expired_batches(self) -> int:
        """Forgets the batches made before the window (and its margin): no batch that old is
        accepted any more (see `check_made_at`)."""
        return self.forget_batches_before(self.clock() - self.batch_window - RETENTION_MARGIN)

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
