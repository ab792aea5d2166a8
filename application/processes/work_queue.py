"""The settlement executor's bounded queue: settlements to drive and accounts to consider.

Each id is in hand at most once (queued, or with a worker). An account already in hand when
another trigger for it comes, or a settlement a worker is driving, is marked to be looked at
again, so a trigger that arrives while it is being worked on is never swallowed: the decision
is made once more, on the state as it is after that trigger.
"""

from __future__ import annotations

import queue
import threading
from uuid import UUID


class WorkQueue:
    def __init__(self, size: int) -> None:
        self._queue: queue.Queue[UUID] = queue.Queue(maxsize=size)
        self._in_hand: set[UUID] = set()
        self._accounts: set[UUID] = set()  # ids in hand that are accounts to consider
        self._working: set[UUID] = set()  # ids in hand that a worker has (not only queued)
        self._again: set[UUID] = set()  # ids triggered again while in hand
        self._guard = threading.Lock()

    def submit(self, settlement_id: UUID) -> bool:
        """Queues a settlement unless it is already in hand (a worker driving it then drives it
        once more: `again_or_release`) or the queue is full."""
        with self._guard:
            if settlement_id in self._in_hand:
                if settlement_id in self._working:
                    self._again.add(settlement_id)
                return False
            return self._put(settlement_id)

    def submit_account(self, account_id: UUID) -> bool:
        """Queues an account to consider; True also when it is in hand (it will be looked at
        again); False only when the queue is full (the caller considers it itself)."""
        with self._guard:
            if account_id in self._in_hand:
                self._again.add(account_id)
                return True
            if not self._put(account_id):
                return False
            self._accounts.add(account_id)
            return True

    def claim(self, settlement_id: UUID) -> bool:
        """Takes a settlement in hand without queueing it (a worker drives it at once)."""
        with self._guard:
            if settlement_id in self._in_hand:
                return False
            self._in_hand.add(settlement_id)
            self._working.add(settlement_id)
            return True

    def take(self, timeout: float) -> tuple[UUID, bool] | None:
        """The next id and whether it is an account, or None after `timeout`."""
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        with self._guard:
            self._working.add(item)
            return item, item in self._accounts

    def again_or_release(self, item: UUID) -> bool:
        """After considering an account or driving a settlement: True (still in hand) if it was
        triggered again meanwhile, so it is looked at once more; else it leaves the hand. One
        step, so a trigger can never fall between the last look and the release."""
        with self._guard:
            if item in self._again:
                self._again.discard(item)
                return True
            self._release(item)
            return False

    def release(self, item: UUID) -> None:
        with self._guard:
            self._release(item)

    def task_done(self) -> None:
        self._queue.task_done()

    def qsize(self) -> int:
        return self._queue.qsize()

    def _release(self, item: UUID) -> None:
        self._in_hand.discard(item)
        self._accounts.discard(item)
        self._working.discard(item)
        self._again.discard(item)

    def _put(self, item: UUID) -> bool:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            return False  # parked: the next scan (or sweep) finds it again
        self._in_hand.add(item)
        return True
