"""Flag screening without a backend: refused chains are answered here and never sent on."""

from __future__ import annotations

from collections.abc import Sequence

from adapters.ledger.flags import ACCOUNT_FLAGS, TRANSFER_FLAGS
from adapters.ledger.port import (
    UNSUPPORTED_ACCOUNT_FLAGS,
    UNSUPPORTED_TRANSFER_FLAGS,
    AccountFlags,
    CreateResult,
    Transfer,
    TransferFlags,
)

R = CreateResult
LINKED = TransferFlags.LINKED


class RecordingBackend:
    """Stands in for a backend: remembers what it was sent and answers `created`."""

    def __init__(self) -> None:
        self.sent: list[list[int]] = []

    def create(self, transfers: Sequence[Transfer]) -> list[CreateResult]:
        self.sent.append([t.id for t in transfers])
        return [R.CREATED] * len(transfers)


def test_the_codes_follow_tigerbeetle_known_flags_then_its_padding() -> None:
    assert TRANSFER_FLAGS.refusal(UNSUPPORTED_TRANSFER_FLAGS["imported"]) is R.UNSUPPORTED
    assert TRANSFER_FLAGS.refusal(1 << 9) is R.RESERVED_FLAG
    assert TRANSFER_FLAGS.refusal(UNSUPPORTED_TRANSFER_FLAGS["imported"] | 1 << 15) is (
        R.RESERVED_FLAG
    )
    assert ACCOUNT_FLAGS.refusal(UNSUPPORTED_ACCOUNT_FLAGS["history"]) is R.UNSUPPORTED
    assert ACCOUNT_FLAGS.refusal(int(AccountFlags.LINKED) | 1 << 6) is R.RESERVED_FLAG


def test_a_batch_of_supported_flags_goes_to_the_backend_whole() -> None:
    backend = RecordingBackend()
    batch = [Transfer(id=1, flags=LINKED), Transfer(id=2, flags=TransferFlags.PENDING)]
    assert TRANSFER_FLAGS.create(batch, backend.create) == [R.CREATED, R.CREATED]
    assert backend.sent == [[1, 2]]


def test_only_chains_without_a_refused_flag_are_sent_and_answers_keep_their_places() -> None:
    backend = RecordingBackend()
    balancing = TransferFlags(UNSUPPORTED_TRANSFER_FLAGS["balancing_debit"])
    batch = [
        Transfer(id=1),
        Transfer(id=2, flags=LINKED),
        Transfer(id=3, flags=balancing | LINKED),
        Transfer(id=4),
        Transfer(id=5, flags=LINKED),
        Transfer(id=6),
        Transfer(id=7, flags=TransferFlags(1 << 12)),
    ]
    assert TRANSFER_FLAGS.create(batch, backend.create) == [
        R.CREATED,
        R.LINKED_EVENT_FAILED,
        R.UNSUPPORTED,
        R.LINKED_EVENT_FAILED,
        R.CREATED,
        R.CREATED,
        R.RESERVED_FLAG,
    ]
    assert backend.sent == [[1, 5, 6]]


def test_a_batch_with_nothing_left_to_send_calls_no_backend() -> None:
    backend = RecordingBackend()
    batch = [Transfer(id=1, flags=TransferFlags(1 << 8))]
    assert TRANSFER_FLAGS.create(batch, backend.create) == [R.UNSUPPORTED]
    assert backend.sent == []
