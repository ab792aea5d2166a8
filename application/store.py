"""Loading and saving aggregates with optimistic concurrency: the base of the application.

A command runs on the aggregate as it is in the store and is saved atomically; a conflicting
writer means the aggregate is reloaded and the command runs again on the fresh state, so every
check a command makes is made on the state being saved. The named use cases built on this are in
`application/commands/`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Recording

from application.new_events import NewEvents
from domain.channel import Channel
from domain.peer_account import PeerAccount
from domain.settlement import Settlement

A = TypeVar("A", bound=Aggregate)
B = TypeVar("B", bound=Aggregate)
R = TypeVar("R")


class NotFound(Exception):
    def __init__(self, kind: str, key: object) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"no {kind} {key}")


class AlreadyExists(Exception):
    def __init__(self, kind: str, key: object, problem: str) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"{kind} {key} already exists {problem}")


class _UncheckedLoads(threading.local):
    """Per thread: whether a command's loads may take cached aggregates without asking the
    store for newer events (the first run of a save), and the aggregates so taken."""

    def __init__(self) -> None:
        self.allowed = False
        self.taken: list[Aggregate] = []

    def take(self, repository: Repository[UUID], aggregate_id: UUID) -> Aggregate | None:
        if not self.allowed or repository.cache is None:
            return None
        try:
            aggregate = cast(Aggregate, repository.cache.get(aggregate_id))
        except KeyError:
            return None
        self.taken.append(aggregate)
        return aggregate


class AggregateStore(Application[UUID]):
    snapshotting_intervals = {PeerAccount: 200, Channel: 200, Settlement: 50}
    env = {
        "AGGREGATE_CACHE_MAXSIZE": "10000",
        "COMPRESSOR_TOPIC": "",
    }
    _conflict_retries = 5

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self._locks_guard = threading.Lock()
        self._locks: dict[UUID, threading.RLock] = {}
        self.new_events = NewEvents()
        self._unchecked = _UncheckedLoads()

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        """After every save: followers in this process wake at once (see NewEvents)."""
        if recordings:
            self.new_events.publish(max(r.notification.id for r in recordings))

    # Loading and saving with optimistic concurrency: a conflicting writer means reload and retry.

    def _lock(self, aggregate_id: UUID) -> threading.RLock:
        with self._locks_guard:
            lock = self._locks.get(aggregate_id)
            if lock is None:
                if len(self._locks) > 50_000:
                    self._locks.clear()
                lock = self._locks[aggregate_id] = threading.RLock()
            return lock

    def _change(self, aggregate_id: UUID, kind: type[A], command: Callable[[A], R]) -> R:
        """Loads an aggregate, runs one command on it and saves what it recorded, atomically."""

        def attempt() -> tuple[R, Sequence[Aggregate]]:
            aggregate = self.load(aggregate_id, kind, copy=False)
            return command(aggregate), [aggregate]

        return self._save_atomically([aggregate_id], attempt)

    def _change_together(
        self,
        first_id: UUID,
        first_kind: type[A],
        second_id: UUID,
        second_kind: type[B],
        command: Callable[[A, B], R],
    ) -> R:
        """Runs one command on two aggregates and saves both in one atomic transaction."""

        def attempt() -> tuple[R, Sequence[Aggregate]]:
            first = self.load(first_id, first_kind, copy=False)
            second = self.load(second_id, second_kind, copy=False)
            return command(first, second), [first, second]

        return self._save_atomically([first_id, second_id], attempt)

    def _save_atomically(
        self, ids: Sequence[UUID], attempt: Callable[[], tuple[R, Sequence[Aggregate]]]
    ) -> R:
        """Runs `attempt` (load, decide, return the result and the aggregates to save) under the
        locks of `ids` and saves those aggregates in one transaction. A conflicting writer in
        another process (IntegrityError) means the cached copies are dropped and `attempt` runs
        again on fresh state; any other failure drops them too, since a command may have
        half-mutated them. Locks are taken in id order, so two commands never deadlock.

        The first run takes cached aggregates as they are, without asking the store for newer
        events (a round trip per save): a stale one is caught by the save, whose events then
        collide with the other writer's versions. Where the save would not catch it (the
        command saved nothing for it, or refused), `attempt` runs again on checked state."""
        ordered = sorted(set(ids))
        with contextlib.ExitStack() as held:
            for aggregate_id in ordered:
                held.enter_context(self._lock(aggregate_id))
            conflicts, cached = 0, True
            while True:
                try:
                    ran = self._run(attempt, ordered, cached=cached)
                    cached = False
                    if ran is None:
                        continue
                    result, changed = ran
                    if changed:
                        self.save(*changed)
                    return result
                except IntegrityError:
                    self._evict_all(ordered)
                    conflicts, cached = conflicts + 1, False
                    if conflicts == self._conflict_retries:
                        raise
                except BaseException:
                    self._evict_all(ordered)
                    raise

    def _run(
        self,
        attempt: Callable[[], tuple[R, Sequence[Aggregate]]],
        ids: Sequence[UUID],
        *,
        cached: bool,
    ) -> tuple[R, Sequence[Aggregate]] | None:
        """`attempt()`, with `cached` loads taking cached aggregates unchecked; None (and no
        cached copy it changed) when an unchecked one could have misled it unnoticed."""
        loads = self._unchecked
        outer = loads.allowed, loads.taken  # a save nested in a command keeps the outer's
        taken: list[Aggregate] = []
        loads.allowed, loads.taken = cached, taken
        try:
            result, changed = attempt()
        except IntegrityError:
            raise
        except Exception:
            if not taken:
                raise
            self._evict_all(ids)  # any of them may be half-changed
            return None
        finally:
            loads.allowed, loads.taken = outer
        saved = {id(a) for a in changed}
        if all(id(a) in saved and a.pending_events for a in taken):
            return result, changed
        # Thrown away: whatever this run changed stays unsaved in the cache (taken or loaded
        # afresh), and the run on checked state must not pick it up.
        self._evict_all([*ids, *(a.id for a in changed)])
        return None

    def load(self, aggregate_id: UUID, kind: type[A], *, copy: bool = True) -> A:
        """The aggregate's current state; a copy unless called from inside a command."""
        try:
            with self._lock(aggregate_id):  # never copy an aggregate while a command mutates it
                aggregate = None if copy else self._unchecked.take(self.repository, aggregate_id)
                if aggregate is None:
                    aggregate = self.repository.get(aggregate_id, deepcopy_from_cache=copy)
        except AggregateNotFoundError:
            raise NotFound(kind.__name__, aggregate_id) from None
        if not isinstance(aggregate, kind):
            raise NotFound(kind.__name__, aggregate_id)
        return aggregate

    def load_version(self, aggregate_id: UUID, kind: type[A], version: int) -> A:
        """The aggregate as it was at `version`, for decisions that must replay the same."""
        aggregate: Aggregate = self.repository.get(aggregate_id, version=version)
        if not isinstance(aggregate, kind):
            raise NotFound(kind.__name__, aggregate_id)
        return aggregate

    def _evict_all(self, aggregate_ids: Sequence[UUID]) -> None:
        for aggregate_id in aggregate_ids:
            self._evict(aggregate_id)

    def _evict(self, aggregate_id: UUID) -> None:
        cache = self.repository.cache
        if cache is not None:
            with contextlib.suppress(KeyError):
                cache.get(aggregate_id, evict=True)

    def create(self, aggregate: Aggregate) -> UUID:
        """Saves a new aggregate; AlreadyExists if its deterministic id is taken."""
        try:
            self.save(aggregate)
        except IntegrityError:
            raise AlreadyExists(type(aggregate).__name__, aggregate.id, "") from None
        return aggregate.id

    def exists(self, aggregate_id: UUID) -> bool:
        return bool(list(self.events.get(aggregate_id, lte=1)))

    # History

    def history(self, aggregate_id: UUID) -> list[Any]:
        """Every event of one aggregate, oldest first."""
        return list(self.events.get(aggregate_id))
