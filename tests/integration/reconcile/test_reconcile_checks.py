"""The comparisons and the run on fakes: receipts, proofs being delivered, failing checks, the
schedule. No database, no chain: what each check decides from the two sides it is given."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from application.reconciliation import Reconciler
from application.reconciliation_checks import (
    Acknowledgement,
    ChannelProofs,
    claim_differences,
    names_claim,
)
from bootstrap.reconciliation import reconcile_on_schedule

AT = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_receipt_names_its_claim_only_with_the_same_settlement_and_nonce() -> None:
    ack = Acknowledgement("s-1", 3, 900, None)
    assert names_claim("accepted:node-b:s-1:3", ack)
    assert names_claim("duplicate:node-b:s-1:3", ack)
    assert not names_claim("accepted:node-b:s-1:2", ack)
    assert not names_claim("accepted:node-b:s-2:3", ack)
    assert not names_claim("rejected:node-b:s-1:3", ack)


def test_only_the_latest_acknowledged_proof_counts_and_a_stray_receipt_is_named() -> None:
    proofs = ChannelProofs("c-1", our_nonce=3, our_transferred=900)
    proofs.acknowledgements = [
        Acknowledgement("s-1", 1, 300, "accepted:b:s-1:1"),
        Acknowledgement("s-2", 2, 600, "accepted:b:s-9:2"),  # acknowledges another claim
        Acknowledgement("s-3", 3, 900, "accepted:b:s-3:3"),
    ]
    [stray] = claim_differences(proofs)
    assert (stray.subject, stray.field, stray.actual) == (
        "settlement s-2",
        "receipt",
        "accepted:b:s-9:2",
    )
    proofs.acknowledgements[2] = Acknowledgement("s-3", 3, 900, None)
    unacknowledged = [d for d in claim_differences(proofs) if d.field != "receipt"]
    assert [(d.books, d.actual, d.amount) for d in unacknowledged] == [(900, 300, -600)]


def test_a_proof_still_being_delivered_is_not_a_difference() -> None:
    proofs = ChannelProofs("c-1", 2, 600, [Acknowledgement("s-1", 1, 300, "accepted:b:s-1:1")])
    proofs.delivering = True
    assert claim_differences(proofs) == []


class FakeBooks:
    def __init__(self, fail: str | None = None) -> None:
        self.fail = fail
        self.runs = 0

    def replay(self) -> tuple[int, Sequence[Any]]:
        self.runs += 1
        if self.fail == "replay":
            raise ConnectionError("database went away")
        return 42, []

    def ledger_comparisons(self, peer_id: str | None) -> Sequence[Any]:
        return []

    def channels(self, peer_id: str | None) -> Sequence[dict[str, Any]]:
        return []

    def channel_proofs(self, peer_id: str | None, now: datetime) -> Sequence[ChannelProofs]:
        return []


class FakeApp:
    def __init__(self) -> None:
        self.created: list[Any] = []

    def create(self, aggregate: Any) -> UUID:
        self.created.append(aggregate)
        return UUID(int=len(self.created))


def test_a_check_that_cannot_run_is_reported_and_the_others_still_run() -> None:
    app = FakeApp()
    seen: dict[str, int] = {}
    reconciler = Reconciler(
        app,
        FakeBooks(fail="replay"),
        [],
        lambda: AT,
        lambda c, n: seen.__setitem__(c, n),
    )
    report = reconciler.run()
    assert "ConnectionError: database went away" in report.failed["replay"]
    assert report.checked == {"ledger": 0, "chain": 0, "claims": 0} == seen
    assert report.exit_code == 2
    [run] = app.created
    assert "replay" in run.skipped and run.checks == report.checked


def test_the_schedule_runs_each_interval_and_stops_when_told() -> None:
    books = FakeBooks()
    app = FakeApp()
    stop = threading.Event()
    reconciler = Reconciler(app, books, [], lambda: AT)

    def stop_after_two(aggregate: Any) -> UUID:
        app.created.append(aggregate)
        if len(app.created) == 2:
            stop.set()
        return UUID(int=len(app.created))

    app.create = stop_after_two  # type: ignore[method-assign]
    reconcile_on_schedule(reconciler, timedelta(0), stop)
    assert books.runs == 2 and len(app.created) == 2
