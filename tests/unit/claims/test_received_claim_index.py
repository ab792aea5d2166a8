"""The index of received claims on the in-memory store (issue 14): a claim id credited once,
answered as a duplicate or a conflict from the index, the account's snapshot not growing with
its claims, and retention forgetting only the claims of settled channels older than the window.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from pydantic import ValidationError

from application.app import SettlementApp
from application.claim_index import (
    InMemoryReceivedClaimIndex,
    rows_of,
)
from application.claims_credit import CreditResult, CreditVerdict
from application.retention import forget_on_schedule
from application.settings import ClaimsSettings
from domain.peer_account import PeerAccount
from tests.support.claim_world import (
    ALICE,
    claim,
    open_account,
    open_channel,
    send,
    settle_channel,
)


def test_a_claim_is_credited_once_and_its_id_reused_with_another_body_conflicts() -> None:
    app = SettlementApp()
    open_account(app)
    channel = open_channel(app)
    first = claim("c1", 1, 5, 5)
    assert send(app, channel, first) == CreditResult(CreditVerdict.CREDITED, 5)
    app._evict(ALICE)  # decided from the index, not from a cached account
    assert send(app, channel, first) == CreditResult(CreditVerdict.DUPLICATE, 5)
    assert send(app, channel, claim("c1", 2, 9, 4, fp="other")).verdict is CreditVerdict.CONFLICT
    assert app.peer_account("alice", "USD").receivable == 10**6 - 5
    row = app.received_claim(ALICE, "c1")
    assert row is not None and (row.fingerprint, row.amount, row.channel_id) == (
        "fp-c1",
        5,
        channel,
    )
    assert app.credited_claims(ALICE) == {"c1": 5}


def test_a_settlement_paid_outside_a_channel_is_credited_once_per_claim_id() -> None:
    app = SettlementApp()
    open_account(app)
    assert app.receive_settlement(ALICE, "s1", 7) is True
    assert app.receive_settlement(ALICE, "s1", 7) is False
    assert app.peer_account("alice", "USD").receivable == 10**6 - 7
    row = app.received_claim(ALICE, "s1")
    assert row is not None and row.channel_id is None


def test_the_accounts_snapshot_does_not_grow_with_the_claims_it_was_paid() -> None:
    def snapshot_after(claims: int) -> bytes:
        app = SettlementApp()
        open_account(app)
        channel = open_channel(app)
        for n in range(1, claims + 1):
            assert send(app, channel, claim(f"claim-{n:04}", n, n, 1)).verdict is (
                CreditVerdict.CREDITED
            )
        app.take_snapshot(ALICE)
        assert app.snapshots is not None
        [snapshot] = app.snapshots.get(ALICE, desc=True, limit=1)
        assert snapshot.originator_version == claims + 2
        stored = app.snapshots.recorder.select_events(ALICE, desc=True, limit=1)
        return stored[0].state

    one, many = snapshot_after(1), snapshot_after(60)
    assert b"claim-0001" not in one and b"claim-0060" not in many
    assert abs(len(many) - len(one)) < 16  # only the numbers' digits differ


def test_rows_of_a_credit_name_the_channel_saved_with_it() -> None:
    app = SettlementApp()
    open_account(app)
    channel = open_channel(app)
    send(app, channel, claim("c1", 1, 5, 5))
    events = [*app.history(channel)[-1:], *app.history(ALICE)[-1:]]
    [row] = rows_of(events)
    assert (row.account_id, row.claim_id, row.amount, row.channel_id) == (ALICE, "c1", 5, channel)
    assert isinstance(events[-1], PeerAccount.SettlementReceived)


def test_retention_forgets_only_claims_of_settled_channels_older_than_the_window() -> None:
    app = SettlementApp()
    open_account(app)
    settled, still_open = open_channel(app, "k1"), open_channel(app, "k2")
    send(app, settled, claim("on-settled", 1, 5, 5))
    send(app, still_open, claim("on-open", 1, 5, 5))
    app.receive_settlement(ALICE, "no-channel", 3)
    settle_channel(app, settled)
    assert isinstance(app.received_claims, InMemoryReceivedClaimIndex)
    now = app.clock()
    assert app.forget_expired_claims() == 0  # inside the window: kept even though settled
    app.clock = lambda: now + app.claim_window + timedelta(minutes=1)
    assert app.forget_expired_claims() == 1
    assert set(app.credited_claims(ALICE)) == {"on-open", "no-channel"}
    # A claim of the settled channel, its id forgotten, is refused: not credited, no pause.
    late = send(app, settled, claim("on-settled", 1, 5, 5))
    assert late.verdict is CreditVerdict.CHANNEL_NOT_OPEN
    account = app.peer_account("alice", "USD")
    assert account.receivable == 10**6 - 13 and account.paused_reason is None


def test_the_window_is_configured_in_hours_and_never_below_a_day() -> None:
    assert ClaimsSettings().idempotency_window_hours == 24
    with pytest.raises(ValidationError, match="idempotency_window_hours"):
        ClaimsSettings(idempotency_window_hours=23)


def test_the_leader_part_forgets_only_while_it_leads() -> None:
    stop = threading.Event()
    calls: list[str] = []
    leading = iter([False, True])

    def forget() -> int:
        calls.append("forget")
        stop.set()  # one pass observed: the part ends at its next check
        return 2

    forget_on_schedule(forget, stop, what="claims", guard=lambda: next(leading), every_seconds=0)
    assert calls == ["forget"]
