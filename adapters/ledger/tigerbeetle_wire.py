"""Transfers packed straight into TigerBeetle's wire layout, and result codes by table.

The client's own `create_transfers` turns each `tb.Transfer` into its C struct through twelve
Python range checks and six 128-bit wrappers: about 50 µs a transfer on this project's
machines, twenty times what the server takes. Our transfers were range-checked already
(`adapters.ledger.validation`), so we pack each one with a single `struct` call into the
128-byte `tb_transfer_t` and hand the whole array to the client's submit path. The reply
comes back as bytes in one piece, and each result is read from its status word by table,
where the client would build a dataclass and an enum per transfer.
`tests/unit/ledger/test_tigerbeetle_wire.py` checks both layouts against the client's own
structs, so a client upgrade that moves a field fails there, not in production.
"""

from __future__ import annotations

import ctypes
import functools
import struct
from collections.abc import Sequence
from typing import Any

import tigerbeetle as tb
from tigerbeetle import bindings

from adapters.ledger.errors import LedgerError
from adapters.ledger.port import CreateResult, Transfer

_LOW = (1 << 64) - 1
# id, debit, credit, amount, pending_id, user_data_128 (each two u64 halves, low first),
# user_data_64, user_data_32, timeout, ledger, code, flags, timestamp: `tb_transfer_t`.
_TRANSFER = struct.Struct("<12QQIIIHHQ")
assert _TRANSFER.size == ctypes.sizeof(bindings.CTransfer) == 128


def pack_transfers(transfers: Sequence[Transfer]) -> ctypes.Array[Any]:
    """The transfers as one C array, byte for byte what the client's conversion makes.

    Callers range-check first; a value that still does not fit raises `struct.error`.
    """
    buffer = bytearray(_TRANSFER.size * len(transfers))
    pack_into = _TRANSFER.pack_into
    offset = 0
    for t in transfers:
        i, d, c, a, p, u = (
            t.id,
            t.debit_account_id,
            t.credit_account_id,
            t.amount,
            t.pending_id,
            t.user_data_128,
        )
        pack_into(
            buffer,
            offset,
            i & _LOW,
            i >> 64,
            d & _LOW,
            d >> 64,
            c & _LOW,
            c >> 64,
            a & _LOW,
            a >> 64,
            p & _LOW,
            p >> 64,
            u & _LOW,
            u >> 64,
            t.user_data_64,
            t.user_data_32,
            t.timeout,
            t.ledger,
            t.code,
            t.flags,
            0,  # timestamp: the cluster assigns it
        )
        offset += _TRANSFER.size
    return (bindings.CTransfer * len(transfers)).from_buffer(buffer)


def submit_transfers(client: tb.ClientSync, packed: ctypes.Array[Any]) -> list[CreateResult]:
    """Sends a packed array as one create_transfers request; one result per transfer.

    The client's submit path copies `len(operations)` items of `c_event_type`, each through
    `c_event_type.from_param`: given the whole array as a single item of its own array
    type, that is one copy of the array, with no per-transfer conversion. Its callback
    likewise converts the reply item by item of `c_result_type`: given the whole reply as
    one item, it converts once, to bytes, and the statuses are read from those.
    """
    count = len(packed)
    replies: list[bytes] = client._submit(  # the client's private submit: see the module doc
        bindings.Operation.CREATE_TRANSFERS,
        [packed],
        type(packed),
        _reply_type(count),
    )
    return read_results(replies, count)


def read_results(replies: list[bytes], count: int) -> list[CreateResult]:
    """The port result of each of `count` transfers, from the reply's bytes."""
    if len(replies) != 1 or len(replies[0]) != count * _RESULT_SIZE:
        raise UnexpectedReply(count, sum(map(len, replies)))
    statuses = memoryview(replies[0]).cast("I")[_STATUS_WORD::_RESULT_WORDS]
    return [_STATUS_RESULTS.get(status, CreateResult.UNSUPPORTED) for status in statuses]


class UnexpectedReply(LedgerError):
    """A reply that is not one result per transfer: a client or server of another release."""

    def __init__(self, transfers: int, reply_bytes: int) -> None:
        self.transfers = transfers
        self.reply_bytes = reply_bytes
        super().__init__(
            f"tigerbeetle replied {reply_bytes} bytes to {transfers} transfers;"
            f" expected {_RESULT_SIZE} bytes each"
        )


# `tb_create_transfer_result_t`: timestamp u64, status u32, reserved u32.
_RESULT_SIZE = ctypes.sizeof(bindings.CCreateTransferResult)
_RESULT_WORDS = _RESULT_SIZE // 4
_STATUS_WORD = bindings.CCreateTransferResult.status.offset // 4
assert (_RESULT_SIZE, _STATUS_WORD) == (16, 2)


@functools.lru_cache(maxsize=256)
def _reply_type(count: int) -> type[ctypes.Array[Any]]:
    """The whole reply to `count` transfers as one C item whose conversion is its bytes."""
    base: type[ctypes.Array[Any]] = bindings.CCreateTransferResult * count
    return type("TransferReply", (base,), {"to_python": lambda self: bytes(self)})


def _table(statuses: type[tb.CreateTransferStatus | tb.CreateAccountStatus]) -> dict[Any, Any]:
    """Each client status by its port result; codes the port does not name are `unsupported`."""
    names = {result.value: result for result in CreateResult}
    return {status: names.get(status.name.lower(), CreateResult.UNSUPPORTED) for status in statuses}


# Separate tables: the two enums are IntEnums whose numbers overlap.
TRANSFER_RESULTS: dict[tb.CreateTransferStatus, CreateResult] = _table(tb.CreateTransferStatus)
ACCOUNT_RESULTS: dict[tb.CreateAccountStatus, CreateResult] = _table(tb.CreateAccountStatus)
_STATUS_RESULTS: dict[int, CreateResult] = {int(k): v for k, v in TRANSFER_RESULTS.items()}
