"""A channel's observed logs and final transactions live in indexes written with the events, not
in its state (issue 14): the application's commands stay idempotent through them, a conflicting
writer of the same log is retried into a no-op, and snapshots stay the same size however long
the channel's history."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import pytest

from application.app import SettlementApp
from application.channel_log_index import InMemoryObservedLogIndex
from domain.channel import Channel
from domain.errors import InvalidBalanceProof

OURS = "0x00000000000000000000000000000000000000aa"
THEIRS = "0x00000000000000000000000000000000000000bb"


@dataclass(frozen=True)
class Signed:
    purpose: str
    tx_hash: str
    raw_transaction: bytes
    sender: str
    nonce: int


def opened_channel(app: SettlementApp) -> UUID:
    channel = Channel.request_open("k", "bob", "USD", 1, "0xtn", OURS, THEIRS, 600)
    app.create(channel)
    assert app.record_channel_opened(channel.id, 7, "0xo1", 0)
    return channel.id


def test_a_log_seen_twice_is_recorded_once_whatever_the_hash_case() -> None:
    app = SettlementApp()
    channel_id = opened_channel(app)
    assert app.record_deposit(channel_id, OURS, 100, "0xAB", 3) is True
    assert app.record_deposit(channel_id, OURS, 100, "0xab", 3) is False
    assert app.record_channel_opened(channel_id, 7, "0xO1", 0) is False  # no IllegalTransition
    assert app.record_deposit(channel_id, OURS, 200, "0xab", 4) is True  # another log of the tx
    names = [type(e).__name__ for e in app.history(channel_id)]
    assert names == ["OpenRequested", "Opened", "DepositObserved", "DepositObserved"]
    assert app.channel(channel_id).our_deposit == 200


class LateIndex(InMemoryObservedLogIndex):
    """Answers the first lookup as a writer would that read before another's commit."""

    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0

    def has_observed(self, channel_id: UUID, tx_hash: str, log_index: int) -> bool:
        self.lookups += 1
        return self.lookups > 1 and super().has_observed(channel_id, tx_hash, log_index)


def test_a_second_writer_of_the_same_log_conflicts_and_its_retry_records_nothing() -> None:
    app = SettlementApp()
    channel_id = opened_channel(app)
    assert app.record_deposit(channel_id, OURS, 100, "0xd1", 0) is True
    late = LateIndex()
    late.add([row for row in app.channel_logs._rows])  # type: ignore[attr-defined]
    app.channel_logs = late
    # The first attempt sees no row and records the fact; its row collides (IntegrityError),
    # the store reloads and runs the command again, which now finds the row.
    assert app.record_deposit(channel_id, OURS, 100, "0xd1", 0) is False
    assert late.lookups == 2
    names = [type(e).__name__ for e in app.history(channel_id)]
    assert names.count("DepositObserved") == 1


def test_a_final_transaction_is_known_to_the_application_and_gone_from_the_state() -> None:
    app = SettlementApp()
    channel_id = opened_channel(app)
    signed = Signed("p", "0xt1", b"\x01", OURS, 4)
    app.record_transaction_signed(channel_id, "deposit:500", signed)
    assert app.record_transaction_confirmed(channel_id, "0xt1", 9, True) is True
    assert app.record_transaction_confirmed(channel_id, "0xt1", 9, True) is False
    assert app.record_transaction_dropped(channel_id, "0xt1", "late") is False
    app.record_transaction_signed(channel_id, "deposit:500", signed)  # recorded already
    channel = app.channel(channel_id)
    assert channel.transactions == {} and channel.transactions_signed == 1
    # A retry of the purpose finds the succeeded transaction, so it sends nothing new.
    live = app.live_transaction(channel_id, "deposit:500")
    assert live is not None and live[0] == "0xt1" and live[1]["raw_transaction"] == "0x01"
    names = [type(e).__name__ for e in app.history(channel_id)]
    assert names.count("TransactionSigned") == 1 and names.count("TransactionConfirmed") == 1
    with pytest.raises(InvalidBalanceProof, match="tx_hash"):
        app.record_transaction_confirmed(channel_id, "0xnever", 9, True)


def test_a_failed_transaction_is_not_live_and_the_pending_one_is() -> None:
    app = SettlementApp()
    channel_id = opened_channel(app)
    app.record_transaction_signed(channel_id, "settle", Signed("p", "0xs1", b"\x01", OURS, 4))
    app.record_transaction_confirmed(channel_id, "0xs1", 9, False)
    assert app.live_transaction(channel_id, "settle") is None
    app.record_transaction_signed(channel_id, "settle", Signed("p", "0xs2", b"\x02", OURS, 5))
    live = app.live_transaction(channel_id, "settle")
    assert live is not None and live[0] == "0xs2"
    rows = app.recorded_transactions(channel_id)
    assert [(r.tx_hash, r.succeeded) for r in rows] == [("0xs1", False), ("0xs2", None)]


def _snapshot_size(app: SettlementApp, channel_id: UUID) -> int:
    app.take_snapshot(channel_id)
    assert app.snapshots is not None
    [latest] = app.snapshots.recorder.select_events(channel_id, desc=True, limit=1)
    return len(latest.state)


def _deposit(app: SettlementApp, channel_id: UUID, n: int) -> None:
    tx_hash = f"0x{n:064x}"
    total = 1000 * n
    app.record_transaction_signed(
        channel_id, f"deposit:{total}", Signed("p", tx_hash, b"\x01", OURS, n)
    )
    app.record_transaction_confirmed(channel_id, tx_hash, n, True)
    app.record_deposit(channel_id, OURS, total, tx_hash, 1)


def test_a_channels_snapshot_does_not_grow_with_deposits_and_transactions() -> None:
    app = SettlementApp()
    channel_id = opened_channel(app)
    _deposit(app, channel_id, 1)
    small = _snapshot_size(app, channel_id)
    for n in range(2, 300):
        _deposit(app, channel_id, n)
    large = _snapshot_size(app, channel_id)
    # Only the numbers written in it grow by a few digits (deposit, counts, version).
    assert large - small < 20, (small, large)
    assert app.channel(channel_id).transactions_signed == 299
    assert len(app.recorded_transactions(channel_id)) == 299
