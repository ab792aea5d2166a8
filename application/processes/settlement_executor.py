"""The settlement executor: a worker pool with a bounded queue driving active settlements.

Work is pushed: when events are recorded (`NewEvents`), the executor reads the new settlement
and account events (`SettlementNews`) and queues what they point at at once — a settlement with
a next step, an account that may be due (a worker has the monitor decide on its current state
and drives what it requests at once; `WorkQueue`), a retry whose time has come. A settlement
waiting on the ledger's postings is looked at again within milliseconds (`Rechecks`). A
periodic scan of the settlements read model (settlements not terminal and due) stays as the
fallback, for what no event here announced. Workers call SettlementSteps
until a settlement finishes or has to wait. Nothing lives only in memory: a crash or a shutdown
leaves settlements recorded at their last step, and the next start finds them again.
Shutdown is graceful: workers finish the step in hand (each step is one atomic save), and
whatever is still queued stays parked in the store. Each periodic pass also has the monitor
sweep the accounts, so an account that is due gets its settlement even if no event said so.
The searches are behind the `SettlementWork` port (projections/settlement_queries.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from application.new_events import NewEvents
from application.processes.rechecks import Rechecks
from application.processes.settlement_monitor import PayableAccounts, SettlementMonitor
from application.processes.settlement_news import SettlementNews
from application.processes.settlement_steps import Progress, SettlementSteps
from application.processes.work_queue import WorkQueue

log = logging.getLogger(__name__)


class SettlementWork(PayableAccounts, Protocol):
    """Where the executor finds work: settlements due now, and those stuck (read models)."""

    def due_settlements(self, now: datetime) -> list[UUID]: ...

    def stuck_settlements(self, now: datetime, unchanged_for: timedelta) -> list[UUID]: ...


class SettlementExecutor:
    def __init__(
        self,
        steps: SettlementSteps[Any],
        work: SettlementWork,
        clock: Callable[[], datetime],
        *,
        workers: int = 4,
        queue_size: int = 256,
        stuck_after: timedelta = timedelta(minutes=5),
        stuck_action: str = "resume",
        monitor: SettlementMonitor | None = None,
    ) -> None:
        self.steps = steps
        self.work = work
        self.clock = clock
        self.workers = workers
        self.queue = WorkQueue(queue_size)
        self.stuck_after = stuck_after
        self.stuck_action = stuck_action
        self.monitor = monitor or SettlementMonitor(steps.app, clock)
        self._stop = threading.Event()
        self._may_act: Callable[[], bool] = lambda: True  # leadership fencing (see run)
        self._threads: list[threading.Thread] = []
        self._rechecks = Rechecks(self.submit, self._stop)

    # Finding work

    def due_settlements(self) -> list[UUID]:
        """Active settlements whose next attempt is due, oldest first."""
        return self.work.due_settlements(self.clock())

    def submit(self, settlement_id: UUID) -> bool:
        """Queues a settlement unless it is already queued or in hand, or the queue is full."""
        return self.queue.submit(settlement_id)

    def scan(self) -> int:
        return sum(self.submit(sid) for sid in self.due_settlements())

    # Doing it

    def drive(self, settlement_id: UUID, max_steps: int = 50) -> Progress:
        """Steps one settlement until it finishes, has to wait, or shutdown is asked for."""
        progress = Progress.ADVANCED
        for _ in range(max_steps):
            if self._stop.is_set():
                break
            progress = self.steps.step(settlement_id)
            if progress is not Progress.ADVANCED:
                break
        return progress

    def run_until_settled(self, timeout_steps: int = 1000) -> None:
        """Drives every due settlement in this thread until none is due (tests, `settle demo`)."""
        for _ in range(timeout_steps):
            due = self.due_settlements()
            if not due:
                return
            progressed = [self.drive(sid) for sid in due]
            if all(p in (Progress.WAITING, Progress.CATCHING_UP) for p in progressed):
                return

    def _work(self) -> None:
        while not self._stop.is_set():
            taken = self.queue.take(timeout=0.2)
            if taken is None:
                continue
            item, is_account = taken
            considered = False
            try:
                if not self._may_act():
                    continue  # a newer leader drives it; nothing is acted on here any more
                if is_account:
                    self._consider(item)  # it leaves the hand there, once no trigger is left
                else:
                    self._drive_while_triggered(item)  # likewise
                considered = True
            except Exception:
                log.exception("settlement worker error", extra={"id": str(item)})
            finally:
                if not considered:
                    self.queue.release(item)
                self.queue.task_done()

    def _consider(self, account_id: UUID) -> None:
        """Requests a settlement if the account is due, and drives it at once; once more for
        every trigger that came meanwhile."""
        again = True
        while again:
            requested = self.monitor.consider(account_id)
            if requested is not None and self.queue.claim(requested):
                try:
                    self._drive_while_triggered(requested)
                except BaseException:
                    self.queue.release(requested)
                    raise
            again = self.queue.again_or_release(account_id)

    def _drive_while_triggered(self, settlement_id: UUID) -> None:
        """Drives the settlement; once more for every trigger that came meanwhile, then it
        leaves the hand."""
        again = True
        while again:
            self._drive_and_recheck(settlement_id)
            again = self.queue.again_or_release(settlement_id)

    def _drive_and_recheck(self, settlement_id: UUID) -> None:
        if self.drive(settlement_id) is Progress.CATCHING_UP:
            self._rechecks.later(settlement_id)  # no event will say when: look again
        else:
            self._rechecks.done(settlement_id)

    def start(self) -> None:
        for n in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"settlement-worker-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        rechecks = threading.Thread(
            target=self._rechecks.run, name="settlement-rechecks", daemon=True
        )
        rechecks.start()
        self._threads.append(rechecks)

    def run(
        self,
        stop: threading.Event,
        poll_interval: float = 0.2,
        guard: Callable[[], bool] | None = None,
        news: NewEvents | None = None,
    ) -> None:
        """Drives settlements until `stop` is set, then shuts the pool down gracefully. With
        `news`, it wakes on every recorded event and scans only every `poll_interval` as the
        fallback; without, it scans every `poll_interval`. `guard` (leadership fencing) is
        asked before every pass and every step; once it says no, nothing more is driven."""
        if guard is not None:
            self._may_act = guard
        reader = SettlementNews(self.steps.app)
        reader.start_at_head()  # what was recorded before is the first scan's
        self.start()
        next_scan = 0.0
        try:
            while not stop.is_set():
                if not self._may_act():
                    log.warning("settlement executor not allowed on; stopping")
                    return
                try:
                    if news is not None and news.head > reader.position:
                        self._act_on_news(reader, news.head)
                    if time.monotonic() >= next_scan:
                        self.monitor.sweep(self.work)
                        self.scan()
                        self.handle_stuck()
                        next_scan = time.monotonic() + poll_interval
                except Exception:
                    log.exception("settlement scan failed")
                if news is None:
                    stop.wait(poll_interval)
                else:  # in short slices, so that a stop is noticed promptly
                    wait = min(self._wait_seconds(reader, next_scan), 0.25)
                    news.wait_beyond(reader.position, wait)
        finally:
            self.shutdown()

    def _act_on_news(self, reader: SettlementNews, head: int) -> None:
        found = reader.read(head)
        for account_id in dict.fromkeys(found.accounts):
            if not self.queue.submit_account(account_id):  # the queue is full: decide here
                requested = self.monitor.consider(account_id)
                if requested is not None:
                    self.submit(requested)
        for settlement_id in dict.fromkeys(found.settlements):
            self.submit(settlement_id)
        for settlement_id in reader.due_retries(self.clock()):
            self.submit(settlement_id)

    def _wait_seconds(self, reader: SettlementNews, next_scan: float) -> float:
        """Until the next scan, or the next scheduled retry if that comes first."""
        wait = max(next_scan - time.monotonic(), 0.0)
        retry_at = reader.next_retry_at()
        if retry_at is not None:
            wait = min(wait, max((retry_at - self.clock()).total_seconds(), 0.0))
        return wait

    def shutdown(self, timeout: float = 30.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=timeout)
        self._threads.clear()
        parked = self.queue.qsize()
        if parked:
            log.info("settlements parked for the next start", extra={"parked": parked})

    # Stuck settlements

    def handle_stuck(self) -> int:
        """Settlements with no progress for `stuck_after`: resumed, or timed out by policy. One
        waiting out its backoff is not stuck: its retries have their own budget."""
        stuck = self.work.stuck_settlements(self.clock(), self.stuck_after)
        for settlement_id in stuck:
            if self.stuck_action == "time_out":
                self.steps.time_out(settlement_id)
            else:
                self.submit(settlement_id)
        return len(stuck)
