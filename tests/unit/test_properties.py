"""Property tests: balances always equal what the commands imply; proofs only move forward."""

import json
from itertools import pairwise
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.channel import Channel, ProofVerdict
from domain.errors import DomainError
from domain.fingerprint import NotCanonical, canonical_json, fingerprint
from domain.ids import derive_id
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry, PeerAccount, batch_digest

amounts = st.integers(min_value=1, max_value=10**6)
entry = st.tuples(st.sampled_from([Direction.INCOMING, Direction.OUTGOING]), amounts)
command = st.one_of(
    st.tuples(st.just("record"), st.lists(entry, min_size=1, max_size=5)),
    st.tuples(st.just("reserve"), amounts),
    st.tuples(st.just("apply"), st.integers(0, 20)),
    st.tuples(st.just("release"), st.integers(0, 20)),
    st.tuples(st.just("receive"), amounts),
    st.tuples(st.just("pause"), st.booleans()),
)


def replayed(events: list[Any]) -> PeerAccount:
    aggregate = None
    for event in events:
        aggregate = event.mutate(aggregate)
    assert isinstance(aggregate, PeerAccount)
    return aggregate


@settings(max_examples=300, deadline=None)
@given(st.lists(command, max_size=40), st.integers(0, 10**6))
def test_balances_equal_what_recorded_reserved_applied_released_imply(
    commands: list[tuple[str, Any]], credit_limit: int
) -> None:
    account = PeerAccount.open("p", Asset("USD", 2), 10**6, 10, credit_limit)
    recorded_out = recorded_in = reserved = applied = released = received = 0
    settlement_ids: list[Any] = []
    events = list(account.collect_events())
    for n, (name, arg) in enumerate(commands):
        try:
            if name == "record":
                entries = [PacketEntry(f"{n}-{i}", d, a) for i, (d, a) in enumerate(arg)]
                result = account.record_packets(f"b{n}", entries)
                recorded_in += result.incoming_total
                recorded_out += result.outgoing_total
            elif name == "reserve":
                sid = derive_id("settlement", n)
                account.reserve(sid, arg)
                settlement_ids.append(sid)
                reserved += arg
            elif name in ("apply", "release") and settlement_ids:
                sid = settlement_ids[arg % len(settlement_ids)]
                amount = account.settlements.get(sid.hex, [0])[0]  # 0: refused, not open
                getattr(account, name)(sid)
                if name == "apply":
                    applied += amount
                else:
                    released += amount
            elif name == "receive":
                account.receive_settlement(f"claim-{n}", arg)  # ids unique: the index's check
                received += arg
            elif name == "pause":
                account.pause("test") if arg else account.resume()
        except DomainError:
            pass  # an illegal command records nothing; the invariants below still hold
        events.extend(account.collect_events())
        assert account.payable == recorded_out - reserved + released
        assert account.in_flight == reserved - applied - released
        assert account.receivable == recorded_in - received
        assert min(account.payable, account.in_flight, account.receivable) >= 0
        assert account.receivable <= credit_limit
    rebuilt = replayed(events)
    assert (rebuilt.payable, rebuilt.in_flight, rebuilt.receivable) == (
        account.payable,
        account.in_flight,
        account.receivable,
    )


proof = st.tuples(st.integers(1, 30), st.integers(0, 2000))


@settings(max_examples=300, deadline=None)
@given(st.lists(proof, max_size=30), st.lists(proof, max_size=30))
def test_accepted_proofs_only_move_forward(ours: list[Any], theirs: list[Any]) -> None:
    ch = Channel.request_open("k", "p", "USD", 1, "0xtn", "0x" + "01" * 20, "0x" + "02" * 20, 10)
    ch.observe_opened(1, "0xa", 0)
    ch.observe_deposit("0x" + "01" * 20, 1000, "0xb", 0)
    ch.observe_deposit("0x" + "02" * 20, 1000, "0xc", 0)
    signed: list[tuple[int, int]] = []
    for nonce, transferred in ours:
        try:
            ch.record_our_proof(nonce, transferred, 0, "0x", f"sig{nonce}")
            signed.append((nonce, transferred))
        except DomainError:
            pass
    accepted: list[tuple[int, int]] = []
    stale = 0
    for nonce, transferred in theirs:
        try:
            verdict = ch.receive_partner_proof(nonce, transferred, f"s{nonce}-{transferred}")
        except DomainError:
            continue
        if verdict is ProofVerdict.ACCEPTED:
            accepted.append((nonce, transferred))
        elif verdict is ProofVerdict.STALE:
            stale += 1
    for sequence in (signed, accepted):
        assert all(a[0] < b[0] and a[1] <= b[1] for a, b in pairwise(sequence))
        assert all(t <= 1000 for _, t in sequence)
    suspected = [e for e in ch.collect_events() if type(e).__name__ == "SuspectedDoubleSpend"]
    assert len(suspected) == stale


# Packet ids drawn mostly from the characters a naive encoding would confuse.
packet_ids = st.text(alphabet=st.sampled_from(["x", "y", "\t", "\n", '"', "\\", ",", "\u00e9"]))
packet_entries = st.lists(
    st.builds(PacketEntry, packet_ids, st.sampled_from(list(Direction)), amounts), max_size=4
)


@settings(max_examples=500, deadline=None)
@given(packet_entries, packet_entries)
def test_two_different_entry_lists_never_share_a_fingerprint(
    first: list[PacketEntry], second: list[PacketEntry]
) -> None:
    assert (batch_digest(first) == batch_digest(second)) == (first == second)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values, json_values)
def test_canonical_json_is_one_text_per_value(first: Any, second: Any) -> None:
    assert canonical_json(first).isascii()
    assert json.loads(canonical_json(first)) == first
    same = canonical_json(first) == canonical_json(second)
    assert same == _same_json(first, second)
    assert (fingerprint(first) == fingerprint(second)) == same


def _same_json(first: Any, second: Any) -> bool:
    """JSON equality: unlike Python's, `false` is not `0` (nor `true` `1`)."""
    if type(first) is not type(second):
        return False
    if isinstance(first, dict):
        return first.keys() == second.keys() and all(_same_json(first[k], second[k]) for k in first)
    if isinstance(first, list):
        return len(first) == len(second) and all(map(_same_json, first, second))
    return bool(first == second)


def test_json_equality_of_the_property_tells_false_from_zero() -> None:
    assert not _same_json([False, False, False], [False, False, 0])
    assert canonical_json([False]) != canonical_json([0])


def test_canonical_json_refuses_floats_naming_where() -> None:
    try:
        canonical_json({"amount": [1, 2.5]})
    except NotCanonical as error:
        assert error.path == "value.amount[1]"
    else:
        raise AssertionError("a float was encoded")
