"""The reference consumer's balance view: each account event applied once, in version order."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.kafka.balance_view import BalanceView
from adapters.kafka.messages import EventMessageV1

ACCOUNT = uuid.uuid4()


def _message(version: int, event: str, aggregate_type: str = "PeerAccount", **payload: Any):
    return EventMessageV1(
        event_type=f"{aggregate_type}.{event}",
        aggregate_type=aggregate_type,
        aggregate_id=ACCOUNT,
        aggregate_version=version,
        position=100 + version,
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        payload=payload,
    )


HISTORY = [
    _message(1, "Opened", peer_id="peer-a", asset_code="USD", asset_scale=2),
    _message(2, "PacketsRecorded", incoming_total=2**127, outgoing_total=900),
    _message(3, "SettlementReserved", amount=600),
    _message(4, "SettlementApplied", amount=400),
    _message(5, "SettlementReleased", amount=200),
    _message(6, "SettlementReceived", amount=2**126),
    _message(7, "Paused", reason="audit"),
]


@pytest.fixture
def view(tmp_path: Path):
    opened = BalanceView(tmp_path / "view.sqlite3")
    yield opened
    opened.close()


def test_history_gives_the_balances_beyond_64_bit(view: BalanceView):
    outcome = view.apply(HISTORY)

    balance = view.balances()[("peer-a", "USD")]
    assert (balance.payable, balance.in_flight) == (900 - 600 + 200, 600 - 400 - 200)
    assert balance.receivable == 2**127 - 2**126
    assert balance.paused is True
    assert (outcome.applied, view.last_position()) == (7, 107)


def test_redelivered_messages_are_dropped(view: BalanceView):
    view.apply(HISTORY[:4])

    outcome = view.apply(HISTORY[1:])  # a publisher restart re-sends from its position

    assert (outcome.duplicates, outcome.applied) == (3, 3)
    assert view.balances()[("peer-a", "USD")].payable == 500


def test_a_message_after_a_gap_waits_for_the_resend(view: BalanceView):
    view.apply(HISTORY[:2])

    outcome = view.apply([HISTORY[3]])  # version 4 before 3: a partly delivered batch
    assert (outcome.gaps, outcome.applied) == (1, 0)
    assert view.balances()[("peer-a", "USD")].in_flight == 0

    view.apply(HISTORY[2:])  # the publisher re-sends from before the gap
    assert view.balances()[("peer-a", "USD")].in_flight == 0
    assert view.balances()[("peer-a", "USD")].payable == 500


def test_other_aggregates_are_ignored_and_a_failed_batch_leaves_nothing(view: BalanceView):
    other = _message(1, "Requested", aggregate_type="Settlement", amount=5)
    assert view.apply([other]).ignored == 1

    broken = _message(2, "PacketsRecorded", incoming_total=1)  # outgoing_total missing
    with pytest.raises(KeyError):
        view.apply([HISTORY[0], broken])
    assert view.balances() == {}
    assert view.last_position() == 0


def test_the_view_survives_reopening(tmp_path: Path):
    first = BalanceView(tmp_path / "v.sqlite3")
    first.apply(HISTORY[:3])
    first.close()

    again = BalanceView(tmp_path / "v.sqlite3")
    try:
        assert again.apply(HISTORY).applied == 4
        assert again.balances()[("peer-a", "USD")].payable == 500
    finally:
        again.close()
