"""The packed transfer layout is the client's own, byte for byte; results map by table."""

from __future__ import annotations

import ctypes
import random
import struct

import pytest
import tigerbeetle as tb
from tigerbeetle import bindings

from adapters.ledger.port import AMOUNT_MAX, ID_MAX, CreateResult, Transfer, TransferFlags
from adapters.ledger.tigerbeetle_wire import (
    ACCOUNT_RESULTS,
    TRANSFER_RESULTS,
    UnexpectedReply,
    pack_transfers,
    read_results,
)


def client_bytes(t: Transfer) -> bytes:
    """What the client's create_transfers puts on the wire for `t`."""
    native = tb.Transfer(
        id=t.id,
        debit_account_id=t.debit_account_id,
        credit_account_id=t.credit_account_id,
        amount=t.amount,
        pending_id=t.pending_id,
        user_data_128=t.user_data_128,
        user_data_64=t.user_data_64,
        user_data_32=t.user_data_32,
        timeout=t.timeout,
        ledger=t.ledger,
        code=t.code,
        flags=tb.TransferFlags(int(t.flags)),
    )
    return bytes(bindings.CTransfer.from_param(native))


def sample_transfers() -> list[Transfer]:
    rng = random.Random(14)
    edges = [
        Transfer(
            id=ID_MAX,
            debit_account_id=ID_MAX - 1,
            credit_account_id=1 << 64,
            amount=AMOUNT_MAX,
            pending_id=(1 << 64) - 1,
            user_data_128=ID_MAX,
            user_data_64=2**64 - 1,
            user_data_32=2**32 - 1,
            timeout=2**32 - 1,
            ledger=2**32 - 1,
            code=2**16 - 1,
            flags=TransferFlags.PENDING | TransferFlags.LINKED,
        ),
        Transfer(id=1, ledger=1, code=1),
    ]
    flags = list(TransferFlags)
    randoms = [
        Transfer(
            id=rng.getrandbits(128),
            debit_account_id=rng.getrandbits(128),
            credit_account_id=rng.getrandbits(64),
            amount=rng.getrandbits(rng.randint(1, 128)),
            pending_id=rng.getrandbits(128),
            user_data_128=rng.getrandbits(128),
            user_data_64=rng.getrandbits(64),
            user_data_32=rng.getrandbits(32),
            timeout=rng.getrandbits(32),
            ledger=rng.getrandbits(32),
            code=rng.getrandbits(16),
            flags=rng.choice(flags),
        )
        for _ in range(200)
    ]
    return edges + randoms


def test_packed_transfers_are_the_clients_bytes() -> None:
    transfers = sample_transfers()
    packed = pack_transfers(transfers)
    assert ctypes.sizeof(packed) == 128 * len(transfers)
    assert bytes(packed) == b"".join(client_bytes(t) for t in transfers)


def test_a_value_that_does_not_fit_is_refused_by_the_packer() -> None:
    with pytest.raises(struct.error):
        pack_transfers([Transfer(id=ID_MAX + 1, ledger=1, code=1)])
    with pytest.raises(struct.error):
        pack_transfers([Transfer(id=1, amount=-1, ledger=1, code=1)])


def test_every_client_status_has_a_port_result() -> None:
    assert set(TRANSFER_RESULTS) == set(tb.CreateTransferStatus)
    assert set(ACCOUNT_RESULTS) == set(tb.CreateAccountStatus)
    assert TRANSFER_RESULTS[tb.CreateTransferStatus.CREATED] is CreateResult.CREATED
    assert TRANSFER_RESULTS[tb.CreateTransferStatus.EXISTS] is CreateResult.EXISTS
    assert TRANSFER_RESULTS[tb.CreateTransferStatus.EXCEEDS_CREDITS] is CreateResult.EXCEEDS_CREDITS
    assert ACCOUNT_RESULTS[tb.CreateAccountStatus.EXISTS] is CreateResult.EXISTS
    # A status with the same number in the other enum maps by its own name.
    assert ACCOUNT_RESULTS[tb.CreateAccountStatus.LINKED_EVENT_FAILED] is (
        CreateResult.LINKED_EVENT_FAILED
    )


def test_results_are_read_from_the_reply_bytes_in_order() -> None:
    statuses = [
        tb.CreateTransferStatus.CREATED,
        tb.CreateTransferStatus.EXISTS,
        tb.CreateTransferStatus.EXCEEDS_CREDITS,
        tb.CreateTransferStatus.LINKED_EVENT_FAILED,
    ]
    reply = b"".join(
        bytes(bindings.CCreateTransferResult(timestamp=10 + n, status=status))
        for n, status in enumerate(statuses)
    )
    assert read_results([reply], len(statuses)) == [TRANSFER_RESULTS[s] for s in statuses]


def test_a_reply_of_another_shape_is_refused() -> None:
    one = bytes(bindings.CCreateTransferResult(timestamp=1, status=tb.CreateTransferStatus.CREATED))
    with pytest.raises(UnexpectedReply):
        read_results([one], 2)
    with pytest.raises(UnexpectedReply):
        read_results([], 1)
