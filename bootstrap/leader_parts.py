"""What only the leader of `settle run` runs, for as long as it leads: chain sync and disputes,
the settlement executor, the leader-only followers, connector notices, scheduled reconciliation,
read-model checkpoints and the retention of packet-batch and received-claim records. Each part
asks the lock whether this node still leads before it acts, so a paused former leader never acts
again."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from adapters.postgres.leadership import LeaderLock
from application.retention import forget_on_schedule
from bootstrap.reconciliation import reconcile_on_schedule
from bootstrap.settlement import SettlementProcess
from bootstrap.supervisor import Supervisor
from projections.read_model_checkpoints import checkpoint_on_schedule

if TYPE_CHECKING:
    from bootstrap.service import Service

log = logging.getLogger(__name__)


def start_leader_parts(
    service: Service, lock: LeaderLock, supervisor: Supervisor, term: threading.Event
) -> None:
    """What only the leader runs, for as long as `term` (its term as leader) is not set; each
    part asks `lock.still_leader` before it acts (fencing a leader that was paused)."""
    process = service.settlement
    if process is not None:
        resumed = process.channels.resume_transactions()
        if resumed:
            log.info("recorded transactions resumed", extra={"count": resumed})
        supervisor.start("chain-sync", partial(_sync_chain, process, term))
        executor = partial(
            process.executor.run,
            term,
            poll_interval=service.node.settings.settlement.scan_interval_seconds,
            guard=lock.still_leader,
            news=service.node.app.new_events,
        )
        supervisor.start("settlement-executor", executor)
    for follower, runner in service.followers:
        if follower.leader_only:
            follow = partial(runner.run_forever, term, guard=lock.still_leader)
            supervisor.start(follower.name, follow)
    if service.engine is not None:
        supervisor.start("connector-notices", partial(service.engine.notify_connector, term))
    if service.reconciler is not None:
        every = timedelta(seconds=service.node.settings.reconciliation.interval_seconds)
        scheduled = partial(reconcile_on_schedule, service.reconciler, every, term)
        supervisor.start("reconciliation", scheduled)
    audit = service.node.settings.audit
    if audit.checkpoint_every_events:
        checkpoints = partial(
            checkpoint_on_schedule,
            service.node.app,
            service.node.pool,
            term,
            every_events=audit.checkpoint_every_events,
            keep=audit.checkpoints_kept,
        )
        supervisor.start("read-model-checkpoints", checkpoints)
    forget = service.node.app.forget_expired_batches
    retention = partial(
        forget_on_schedule, forget, term, what="expired packet batches", guard=lock.still_leader
    )
    supervisor.start("packet-batch-retention", retention)
    forget_claims = service.node.app.forget_expired_claims
    claim_retention = partial(
        forget_on_schedule,
        forget_claims,
        term,
        what="received claims of settled channels",
        guard=lock.still_leader,
    )
    supervisor.start("received-claim-retention", claim_retention)


def _sync_chain(process: SettlementProcess, stop: threading.Event) -> None:
    interval = process.node.settings.chain.poll_interval_seconds
    backoff = interval
    while not stop.is_set():
        try:
            process.sync_chain()
            process.answer_disputes()
            backoff = interval
        except Exception as error:
            if not getattr(error, "retryable", False):
                raise
            log.warning("chain sync failed; backing off", extra={"error": str(error)})
            backoff = min(backoff * 2, 30.0)
        stop.wait(backoff)
