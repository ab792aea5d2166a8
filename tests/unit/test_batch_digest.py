"""The batch digest is written directly for speed: it must stay exactly the canonical-JSON
fingerprint of the entries, or replays of batches recorded before would look like conflicts."""

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.fingerprint import fingerprint
from domain.peer_account import Direction, PacketEntry, batch_digest


def general_digest(entries: list[PacketEntry]) -> str:
    return fingerprint(
        [
            {"packet_id": e.packet_id, "direction": e.direction.value, "amount": e.amount}
            for e in entries
        ]
    )


entries = st.lists(
    st.builds(
        PacketEntry,
        st.text(min_size=1, max_size=12),  # quotes, backslashes, control and non-ASCII text
        st.sampled_from(list(Direction)),
        st.integers(min_value=1, max_value=2**128 - 1),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=500, deadline=None)
@given(entries)
def test_the_direct_digest_equals_the_fingerprint_of_the_canonical_json(
    batch: list[PacketEntry],
) -> None:
    assert batch_digest(batch) == general_digest(batch)


def test_tricky_packet_ids_digest_as_the_general_encoder_does() -> None:
    batch = [
        PacketEntry('a"b\\c', Direction.INCOMING, 1),
        PacketEntry("é\u2028\x00\n", Direction.OUTGOING, 2**127),
        PacketEntry("\U0001f600", Direction.OUTGOING, 7),
    ]
    assert batch_digest(batch) == general_digest(batch)


def test_a_field_of_another_type_takes_the_general_path() -> None:
    class Text(str):
        pass

    batch = [PacketEntry(Text("p1"), Direction.INCOMING, 5)]
    assert batch_digest(batch) == general_digest([PacketEntry("p1", Direction.INCOMING, 5)])
