import pytest

from domain.errors import (
    AccountPaused,
    BatchConflict,
    BatchTooLarge,
    CreditLimitExceeded,
    ExceedsReceivable,
    InsufficientPayable,
    InvalidAmount,
    InvalidBatch,
    InvalidField,
    SettlementIdReused,
    UnknownSettlement,
)
from domain.fingerprint import FINGERPRINT_PREFIX
from domain.ids import derive_id
from domain.money import MAX_AMOUNT, Asset
from domain.peer_account import (
    MAX_BATCH_ENTRIES,
    BatchResult,
    Direction,
    PacketEntry,
    PeerAccount,
    RecordedBatch,
    batch_digest,
    legacy_batch_digest,
)

OUT, IN = Direction.OUTGOING, Direction.INCOMING


def account(threshold: int = 1000, settle_to: int = 100, credit_limit: int = 5000) -> PeerAccount:
    a = PeerAccount.open("alice", Asset("USD", 2), threshold, settle_to, credit_limit)
    a.collect_events()
    return a


def batch(*amounts: tuple[Direction, int], prefix: str = "p") -> list[PacketEntry]:
    return [PacketEntry(f"{prefix}{i}", d, amt) for i, (d, amt) in enumerate(amounts)]


def test_open_rejects_settle_to_at_or_above_threshold() -> None:
    with pytest.raises(InvalidAmount) as raised:
        PeerAccount.open("alice", Asset("USD", 2), 1000, 1000, 0)
    assert raised.value.field == "settle_to"
    assert "1000" in str(raised.value)


def test_account_id_is_deterministic_per_peer_and_asset() -> None:
    assert PeerAccount.create_id("alice", "USD") == account().id
    assert PeerAccount.create_id("alice", "EUR") != account().id


def test_outgoing_packets_raise_payable_and_incoming_raise_receivable() -> None:
    a = account()
    result = a.record_packets("b1", batch((OUT, 300), (IN, 40), (OUT, 5)))
    assert (a.payable, a.receivable, a.in_flight) == (305, 40, 0)
    assert (result.outgoing_total, result.incoming_total) == (305, 40)
    events = a.collect_events()
    assert [type(e).__name__ for e in events] == ["PacketsRecorded"]


def recorded(a: PeerAccount, result: BatchResult, entries: list[PacketEntry]) -> RecordedBatch:
    """What the application's batch index keeps of a batch just recorded on `a`."""
    return RecordedBatch(
        batch_digest(entries),
        a.version,
        result.incoming_total,
        result.outgoing_total,
        result.threshold_crossed,
    )


def test_a_replay_answers_the_first_result_and_records_nothing() -> None:
    # Which batches were recorded is the application's batch index (tests/unit/test_batch_index.py).
    a = account()
    first = a.record_packets("b1", batch((OUT, 1200)))
    seen = recorded(a, first, batch((OUT, 1200)))
    a.collect_events()
    again = a.replayed("b1", batch((OUT, 1200)), seen)
    assert again.duplicate and not first.duplicate
    assert (again.payable, again.threshold_crossed) == (first.payable, first.threshold_crossed)
    assert again.threshold_crossed is True
    assert a.collect_events() == []
    assert a.payable == 1200


def test_a_replay_with_different_entries_is_a_conflict_and_records_nothing() -> None:
    a = account()
    seen = recorded(a, a.record_packets("b1", batch((OUT, 10))), batch((OUT, 10)))
    a.collect_events()
    with pytest.raises(BatchConflict) as raised:
        a.replayed("b1", batch((OUT, 11)), seen)
    assert raised.value.batch_id == "b1"
    assert a.collect_events() == []
    assert a.payable == 10


def test_the_account_keeps_no_record_of_each_batch() -> None:
    a = account(threshold=10**9, settle_to=0)
    for n in range(50):
        a.record_packets(f"b{n}", batch((OUT, 1), prefix=f"n{n}-"))
    assert "batches" not in vars(a)


def test_batch_past_credit_limit_is_rejected_whole() -> None:
    a = account(credit_limit=100)
    with pytest.raises(CreditLimitExceeded) as raised:
        a.record_packets("b1", batch((IN, 60), (OUT, 5), (IN, 41)))
    assert (raised.value.credit_limit, raised.value.receivable) == (100, 101)
    assert "100" in str(raised.value) and "101" in str(raised.value)
    assert (a.payable, a.receivable) == (0, 0)
    assert a.collect_events() == []


@pytest.mark.parametrize(
    ("entries", "problem"),
    [
        ([], "at least one entry"),
        ([PacketEntry("p", OUT, 0)], "amount"),
        ([PacketEntry("p", OUT, -5)], "amount"),
        ([PacketEntry("p", OUT, MAX_AMOUNT + 1)], "2**128-1"),
        ([PacketEntry("p", OUT, 1), PacketEntry("p", IN, 1)], "repeated"),
        ([PacketEntry("", OUT, 1)], "empty"),
    ],
)
def test_invalid_entries_are_rejected_naming_the_field(
    entries: list[PacketEntry], problem: str
) -> None:
    a = account()
    with pytest.raises((InvalidBatch, InvalidAmount)) as raised:
        a.record_packets("b1", entries)
    assert problem in str(raised.value)
    assert a.collect_events() == []


def test_paused_account_rejects_every_batch_until_resumed() -> None:
    a = account()
    a.pause("suspected double spend")
    with pytest.raises(AccountPaused, match="suspected double spend"):
        a.record_packets("b1", batch((OUT, 1)))
    a.resume()
    a.record_packets("b1", batch((OUT, 1)))
    assert [type(e).__name__ for e in a.collect_events()] == [
        "Paused",
        "Resumed",
        "PacketsRecorded",
    ]


def test_threshold_crossing_is_recorded_once_per_crossing() -> None:
    a = account(threshold=1000, settle_to=100)
    assert not a.record_packets("b1", batch((OUT, 900), prefix="a")).threshold_crossed
    assert a.record_packets("b2", batch((OUT, 200), prefix="b")).threshold_crossed
    assert not a.record_packets("b3", batch((OUT, 200), prefix="c")).threshold_crossed
    events = a.collect_events()
    crossings = [e for e in events if isinstance(e, PeerAccount.SettlementThresholdCrossed)]
    assert len(crossings) == 1
    assert crossings[0].payable == 1100
    # Settling brings payable below the threshold, which re-arms it.
    sid = derive_id("settlement", "s1")
    a.reserve(sid, a.settlement_amount())
    assert a.payable == 100
    assert a.record_packets("b4", batch((OUT, 950), prefix="d")).threshold_crossed


def test_reserve_apply_release_move_amounts_between_balances() -> None:
    a = account()
    a.record_packets("b1", batch((OUT, 500)))
    s1, s2 = derive_id("settlement", "1"), derive_id("settlement", "2")
    a.reserve(s1, 300)
    assert (a.payable, a.in_flight) == (200, 300)
    a.apply(s1)
    assert (a.payable, a.in_flight) == (200, 0)
    a.reserve(s2, 150)
    a.release(s2)
    assert (a.payable, a.in_flight) == (200, 0)


def test_each_settlement_id_is_accepted_once() -> None:
    """An open id is refused by the account; a finished one by the application (the account
    forgets it: tests/unit/test_settlement_reservations.py)."""
    a = account()
    a.record_packets("b1", batch((OUT, 500)))
    sid = derive_id("settlement", "1")
    a.reserve(sid, 100)
    a.collect_events()
    with pytest.raises(SettlementIdReused):
        a.reserve(sid, 100)
    a.apply(sid)
    a.collect_events()
    with pytest.raises(UnknownSettlement, match="not open"):
        a.apply(sid)
    with pytest.raises(UnknownSettlement, match="not open"):
        a.release(sid)
    with pytest.raises(UnknownSettlement, match="not open"):
        a.release(derive_id("settlement", "never"))
    assert a.collect_events() == []


def test_reserve_more_than_payable_is_refused() -> None:
    a = account()
    a.record_packets("b1", batch((OUT, 50)))
    with pytest.raises(InsufficientPayable) as raised:
        a.reserve(derive_id("settlement", "1"), 51)
    assert (raised.value.amount, raised.value.payable) == (51, 50)


def test_received_settlement_credits_receivable_and_keeps_no_claim_ids() -> None:
    """Once per claim id is the index's check (application.claim_index), made by the caller:
    the account's state does not grow with the claims it was paid."""
    a = account()
    a.record_packets("b1", batch((IN, 500)))
    a.receive_settlement("claim-1", 200, fingerprint="fp")
    assert a.receivable == 300
    assert "claims_received" not in vars(a) and "claim_fingerprints" not in vars(a)
    [event] = [e for e in a.collect_events() if isinstance(e, PeerAccount.SettlementReceived)]
    assert (event.claim_id, event.amount, event.fingerprint) == ("claim-1", 200, "fp")
    with pytest.raises(ExceedsReceivable):
        a.receive_settlement("claim-2", 301)


def test_threshold_and_credit_limit_changes_are_events() -> None:
    a = account()
    a.change_threshold(2000, 500)
    a.change_credit_limit(10)
    assert (a.threshold, a.settle_to, a.credit_limit) == (2000, 500, 10)
    names = [type(e).__name__ for e in a.collect_events()]
    assert names == ["ThresholdChanged", "CreditLimitChanged"]
    with pytest.raises(InvalidAmount):
        a.change_threshold(10, 10)


def test_registration_names_address_rails_and_claims_endpoint() -> None:
    a = account()
    address = "0x" + "ab" * 20
    assert a.register(address, ["base", "anvil"], "base", "http://127.0.0.1:9/claims") is True
    assert a.register(address, ["base", "anvil"], "base", "http://127.0.0.1:9/claims") is False
    assert (a.address, a.preferred_rail) == (address, "base")
    assert [type(e).__name__ for e in a.collect_events()] == ["PeerRegistered"]
    with pytest.raises(InvalidField, match="preferred_rail"):
        a.register(address, ["base"], "anvil", "http://x")
    with pytest.raises(InvalidField, match="address"):
        a.register("0x12", ["base"], "base", "http://x")
    with pytest.raises(InvalidField, match="rails"):
        a.register(address, [], "base", "http://x")
    assert a.collect_events() == []


def test_packet_ids_holding_the_old_separators_cannot_pass_for_another_batch() -> None:
    a = account(threshold=10**6, settle_to=0)
    entries = [PacketEntry("x\toutgoing\t1\ny", OUT, 2)]
    seen = recorded(a, a.record_packets("B", entries), entries)
    forged = [PacketEntry("x", OUT, 1), PacketEntry("y", OUT, 2)]
    assert legacy_batch_digest(forged) == legacy_batch_digest(entries)
    with pytest.raises(BatchConflict):
        a.replayed("B", forged, seen)
    assert a.payable == 2


def test_new_batches_store_a_canonical_fingerprint() -> None:
    a = account()
    a.record_packets("B", batch((OUT, 5)))
    [event] = a.collect_events()
    assert isinstance(event, PeerAccount.PacketsRecorded)
    assert event.digest == batch_digest(batch((OUT, 5)))
    assert event.digest.startswith(FINGERPRINT_PREFIX)


def test_a_batch_recorded_with_a_legacy_digest_is_still_recognised() -> None:
    # As today's code recorded it: the tab-and-newline digest, unprefixed.
    a = account()
    entries = batch((OUT, 5), (IN, 3))
    a.trigger_event(
        a.PacketsRecorded,
        batch_id="B",
        digest=legacy_batch_digest(entries),
        entries=[[e.packet_id, e.direction.value, e.amount] for e in entries],
        incoming_total=3,
        outgoing_total=5,
    )
    a.collect_events()
    seen = RecordedBatch(legacy_batch_digest(entries), a.version, 3, 5, False)
    again = a.replayed("B", entries, seen)
    assert again.duplicate and (again.outgoing_total, again.incoming_total) == (5, 3)
    with pytest.raises(BatchConflict):
        a.replayed("B", batch((OUT, 6), (IN, 3)), seen)
    assert a.collect_events() == []


def test_a_batch_past_the_entries_ceiling_is_refused_naming_the_limit() -> None:
    a = account(threshold=10**9, settle_to=0)
    entries = [PacketEntry(f"p{i}", OUT, 1) for i in range(MAX_BATCH_ENTRIES + 1)]
    with pytest.raises(BatchTooLarge) as raised:
        a.record_packets("B", entries)
    assert (raised.value.size, raised.value.limit) == (MAX_BATCH_ENTRIES + 1, MAX_BATCH_ENTRIES)
    assert f"limit of {MAX_BATCH_ENTRIES} entries" in str(raised.value)
    assert a.collect_events() == []


@pytest.mark.parametrize("peer_id", ["", "   ", "ca\nrol", "carol\t", " carol", "x" * 129])
def test_open_refuses_a_peer_name_that_is_blank_padded_or_has_line_breaks(peer_id: str) -> None:
    with pytest.raises(InvalidField) as raised:
        PeerAccount.open(peer_id, Asset("USD", 2), 1000, 100, 0)
    assert raised.value.field == "peer_id"
