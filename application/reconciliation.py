"""Reconciliation: every check of the books against what else holds the same facts, one run.

The run reads four pairs of sides through ports (the wiring fills them in): read models vs a
replay of the events, the double-entry ledger vs the read models, the chain vs the channel
books, and our signed proofs vs the peer's acknowledgements. It reports every difference with
its amount, records the run as a `ReconciliationRun` event and reports per-check counts to a
gauge. It only reads, and records one new aggregate, so it never holds up recording.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.reconciliation_chain import (
    ChainEscrow,
    escrow_differences,
    our_escrow_differences,
    unknown_channel_differences,
)
from application.reconciliation_checks import (
    CHECKS,
    ChainChannel,
    ChannelProofs,
    Difference,
    channel_differences,
    claim_differences,
    ledger_differences,
    replay_differences,
)
from domain.address import Address
from domain.reconciliation import ReconciliationRun

log = logging.getLogger(__name__)


class ChainAuditPort(Protocol):
    """Reads one TokenNetwork's channels, its token balance and its logs (the EVM adapter)."""

    @property
    def chain_id(self) -> int: ...
    @property
    def token_network(self) -> str: ...
    def channel(self, onchain_id: int, our_address: str, partner_address: str) -> ChainChannel: ...
    def escrow(self) -> ChainEscrow:
        """The balance and the contract's logs folded up to the safe head, with our channels."""
        ...


class RunRecorder(Protocol):
    """Where a run is recorded: the application's `create` (a new aggregate, no contention)."""

    def create(self, aggregate: Aggregate) -> UUID: ...


class BooksPort(Protocol):
    """The books' side of each check, brought up to the head of the event log first."""

    def replay(self) -> tuple[int, Sequence[Any]]:
        """(head position, differing read-model rows) after rebuilding from the first event."""
        ...

    def ledger_comparisons(self, peer_id: str | None) -> Sequence[Any]: ...
    def channels(self, peer_id: str | None) -> Sequence[Mapping[str, Any]]: ...
    def channel_proofs(self, peer_id: str | None, now: datetime) -> Sequence[ChannelProofs]: ...


@dataclass
class ReconciliationReport:
    run_key: str
    peer_id: str | None
    position: int
    checked: dict[str, int] = field(default_factory=dict)  # check -> differences found
    skipped: dict[str, str] = field(default_factory=dict)  # check -> why it did not run
    failed: dict[str, str] = field(default_factory=dict)  # check -> the error it met
    differences: list[Difference] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.differences and not self.failed

    @property
    def exit_code(self) -> int:
        """For cron: 0 clean, 1 differences found, 2 a check could not run."""
        if self.differences:
            return 1
        return 2 if self.failed else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_key": self.run_key,
            "peer_id": self.peer_id,
            "position": self.position,
            "clean": self.clean,
            "checked": self.checked,
            "skipped": self.skipped,
            "failed": self.failed,
            "differences": [d.as_row() for d in self.differences],
        }


class ReconciliationFailed(Exception):
    """A check met an error reading one side; the run reports it (exit 2) and goes on."""

    def __init__(self, check: str, error: BaseException) -> None:
        self.check = check
        self.retryable = bool(getattr(error, "retryable", False))
        super().__init__(f"{check}: {type(error).__name__}: {error}")


class Reconciler:
    """Runs the checks and records the run. `observe(check, count)` sets the gauge."""

    def __init__(
        self,
        app: RunRecorder,
        books: BooksPort,
        audits: Iterable[ChainAuditPort],
        clock: Callable[[], datetime],
        observe: Callable[[str, int], None] = lambda _check, _count: None,
    ) -> None:
        self.app = app
        self.books = books
        self.audits = list(audits)
        self.clock = clock
        self.observe = observe

    def run(
        self, peer_id: str | None = None, checks: Sequence[str] = CHECKS, *, record: bool = True
    ) -> ReconciliationReport:
        report = ReconciliationReport(uuid.uuid4().hex, peer_id, 0)
        runs: dict[str, Callable[[ReconciliationReport], list[Difference]]] = {
            "replay": self._replay,
            "ledger": lambda r: ledger_differences(self.books.ledger_comparisons(r.peer_id)),
            "chain": self._chain,
            "claims": self._claims,
        }
        for check in checks:
            try:
                found = runs[check](report)
            except Exception as error:
                failure = ReconciliationFailed(check, error)
                log.warning("reconciliation check failed", extra={"error": str(failure)})
                report.failed[check] = str(failure)
                continue
            if check not in report.skipped:
                report.checked[check] = len(found)
                report.differences.extend(found)
                self.observe(check, len(found))
        if record:
            self._record(report)
        return report

    def _replay(self, report: ReconciliationReport) -> list[Difference]:
        if report.peer_id is not None:
            report.skipped["replay"] = "covers every peer: run without --peer"
            return []
        report.position, tables = self.books.replay()
        return replay_differences(tables)

    def _chain(self, report: ReconciliationReport) -> list[Difference]:
        channels = [c for c in self.books.channels(report.peer_id) if c["onchain_id"] is not None]
        if not self.audits:
            if channels:
                report.skipped["chain"] = "no rail configured to read the chain"
            return []
        found: list[Difference] = []
        for audit in self.audits:
            mine = [c for c in channels if _on(audit, c)]
            for book in mine:
                view = audit.channel(
                    int(book["onchain_id"]), book["our_address"], book["partner_address"]
                )
                found.extend(channel_differences(book, view))
            if report.peer_id is None:  # the escrow holds every peer's channels, and others'
                escrow = audit.escrow()
                found.extend(escrow_differences(escrow))
                found.extend(our_escrow_differences(escrow, mine))
                found.extend(unknown_channel_differences(escrow, mine))
        unread = [c for c in channels if not any(_on(a, c) for a in self.audits)]
        if unread:
            report.skipped["chain"] = f"{len(unread)} channel(s) on rails not configured here"
        return found

    def _claims(self, report: ReconciliationReport) -> list[Difference]:
        found: list[Difference] = []
        for proofs in self.books.channel_proofs(report.peer_id, self.clock()):
            found.extend(claim_differences(proofs))
        return found

    def _record(self, report: ReconciliationReport) -> None:
        run = ReconciliationRun.record(
            report.run_key,
            peer_id=report.peer_id,
            position=report.position,
            checks=report.checked,
            differences=[_recordable(d) for d in report.differences],
            skipped={**report.skipped, **report.failed},
            at=self.clock(),
        )
        self.app.create(run)


def _on(audit: ChainAuditPort, channel: Mapping[str, Any]) -> bool:
    return int(channel["chain_id"]) == audit.chain_id and Address(
        channel["token_network"], "token_network"
    ) == Address(audit.token_network, "token_network")


def _recordable(difference: Difference) -> dict[str, Any]:
    """A difference as event payload: amounts as int, anything else as text."""
    row = difference.as_row()
    return {
        k: v if v is None or isinstance(v, (int, str, bool)) else str(v) for k, v in row.items()
    }
