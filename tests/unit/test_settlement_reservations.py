"""A peer account keeps only its open settlements and a count of all (issue 14): the open set and
the count after each step, the same after replay, from a snapshot of any age, and a snapshot whose
size does not grow with the number of settlements."""

from __future__ import annotations

import json
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from application.store import AggregateStore
from domain.ids import derive_id
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry, PeerAccount
from tests.unit.compat.recording import new_store

OUT = Direction.OUTGOING


def account_with_payable(payable: int) -> PeerAccount:
    account = PeerAccount.open("alice", Asset("USD", 2), 10**12, 0, 0)
    account.record_packets("b0", [PacketEntry("p0", OUT, payable)])
    return account


def sid(n: int) -> UUID:
    return derive_id("settlement", n)


def load(store: AggregateStore, account_id: UUID) -> PeerAccount:
    return store.load(account_id, PeerAccount)


def open_set(account: PeerAccount) -> dict[str, list[object]]:
    return dict(account.settlements)


def test_only_reserved_and_promised_settlements_are_kept_and_every_one_is_counted() -> None:
    a = account_with_payable(1000)
    a.reserve(sid(1), 100)
    a.reserve(sid(2), 200)
    a.reserve(sid(3), 300)
    assert open_set(a) == {
        sid(1).hex: [100, "reserved"],
        sid(2).hex: [200, "reserved"],
        sid(3).hex: [300, "reserved"],
    }
    a.promise(sid(1))
    a.apply(sid(1))
    a.release(sid(2))
    assert open_set(a) == {sid(3).hex: [300, "reserved"]}
    assert (a.settlement_sequence, a.settlement_in_flight) == (3, True)
    assert (a.settlement_state(sid(1)), a.settlement_state(sid(3))) == (None, "reserved")
    a.promise(sid(3))
    assert open_set(a) == {sid(3).hex: [300, "promised"]}
    a.apply(sid(3))
    assert (open_set(a), a.settlement_sequence, a.settlement_in_flight) == ({}, 3, False)
    assert (a.payable, a.in_flight) == (1000 - 100 - 300, 0)


def test_replaying_the_events_gives_the_same_open_set_and_count() -> None:
    store = new_store()
    a = account_with_payable(1000)
    for n in range(5):
        a.reserve(sid(n), 10)
    a.apply(sid(0))
    a.release(sid(1))
    a.promise(sid(2))
    store.save(a)
    again = load(store, a.id)
    assert (
        open_set(again)
        == open_set(a)
        == {
            sid(2).hex: [10, "promised"],
            sid(3).hex: [10, "reserved"],
            sid(4).hex: [10, "reserved"],
        }
    )
    assert again.settlement_sequence == a.settlement_sequence == 5


def snapshot_size(settlements: int) -> int:
    """Bytes of the snapshot of an account that applied `settlements` settlements one by one."""
    store = new_store()
    assert store.snapshots is not None
    a = account_with_payable(settlements)
    for n in range(settlements):
        a.reserve(sid(n), 1)
        a.apply(sid(n))
    store.save(a)
    store.take_snapshot(a.id)
    [snapshot] = store.snapshots.recorder.select_events(a.id, desc=True, limit=1)
    assert load(store, a.id).settlement_sequence == settlements
    return len(snapshot.state)


def test_a_snapshot_stays_the_same_size_whatever_the_number_of_settlements() -> None:
    small, large = snapshot_size(10), snapshot_size(1000)
    assert large < small + 50  # a few more digits in the totals, no entry per settlement


def test_a_version_2_snapshot_with_finished_settlements_keeps_its_sequence() -> None:
    """A snapshot written before version 4 (every settlement ever reserved in `settlements`):
    upcast, it counts them all and keeps the open ones, so the next settlement's number is the
    same as it was. Only the snapshot is stored, so the state can come from nothing else."""
    written = new_store()
    assert written.snapshots is not None
    a = account_with_payable(1000)
    for n in range(4):
        a.reserve(sid(n), 10)
    a.apply(sid(0))
    a.release(sid(1))
    a.promise(sid(2))
    written.save(a)
    written.take_snapshot(a.id)
    [taken] = written.snapshots.recorder.select_events(a.id)
    old = json.loads(taken.state)
    assert old["state"].pop("class_version") == 4
    del old["state"]["settlements_started"]
    old["state"]["class_version"] = 2
    old["state"]["settlements"] = {
        sid(0).hex: [10, "applied"],
        sid(1).hex: [10, "released"],
        sid(2).hex: [10, "promised"],
        sid(3).hex: [10, "reserved"],
    }
    store = new_store()
    assert store.snapshots is not None
    state = json.dumps(old).encode()
    version_2 = StoredEvent(taken.originator_id, taken.originator_version, taken.topic, state)
    store.snapshots.recorder.insert_events([version_2])
    restored = load(store, a.id)
    assert restored.settlement_sequence == a.settlement_sequence == 4
    assert (
        open_set(restored)
        == open_set(a)
        == {
            sid(2).hex: [10, "promised"],
            sid(3).hex: [10, "reserved"],
        }
    )
    assert (restored.payable, restored.in_flight) == (a.payable, a.in_flight)
    restored.apply(sid(3))
    restored.reserve(sid(4), 10)
    assert (restored.settlement_sequence, restored.settlement_in_flight) == (5, True)
