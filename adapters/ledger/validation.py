"""Range checks shared by both backends: a field that cannot fit is refused before sending.

Flags must be the port's flag type and fit TigerBeetle's u16; which bits are allowed is the
port's contract, screened by `adapters.ledger.flags` with result codes rather than errors.
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters.ledger.errors import InvalidLedgerField
from adapters.ledger.port import FLAG_BITS, Account, AccountFlags, Transfer, TransferFlags

_BITS = {
    "id": 128,
    "debit_account_id": 128,
    "credit_account_id": 128,
    "amount": 128,
    "pending_id": 128,
    "user_data_128": 128,
    "user_data_64": 64,
    "user_data_32": 32,
    "timeout": 32,
    "ledger": 32,
    "code": 16,
}


def _check(kind: str, index: int, event: object, names: Sequence[str]) -> None:
    for name in names:
        value = getattr(event, name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidLedgerField(f"{kind}[{index}].{name}", value, "must be an int")
        if not 0 <= value < 2 ** _BITS[name]:
            raise InvalidLedgerField(
                f"{kind}[{index}].{name}", value, f"must fit in {_BITS[name]} unsigned bits"
            )


def _check_flags(field: str, flags: object, kind: type[AccountFlags | TransferFlags]) -> None:
    if not isinstance(flags, kind):
        raise InvalidLedgerField(field, flags, f"not {kind.__name__}")
    if not 0 <= flags < 2**FLAG_BITS:
        raise InvalidLedgerField(field, int(flags), f"must fit in {FLAG_BITS} unsigned bits")


def check_accounts(accounts: Sequence[Account]) -> None:
    names = ("id", "user_data_128", "user_data_64", "user_data_32", "ledger", "code")
    for index, account in enumerate(accounts):
        _check("accounts", index, account, names)
        _check_flags(f"accounts[{index}].flags", account.flags, AccountFlags)


def _fits(t: Transfer) -> bool:
    """The fast path: `value >> bits` is 0 exactly when 0 <= value < 2**bits."""
    try:
        return not (
            t.id >> 128
            or t.debit_account_id >> 128
            or t.credit_account_id >> 128
            or t.amount >> 128
            or t.pending_id >> 128
            or t.user_data_128 >> 128
            or t.user_data_64 >> 64
            or t.user_data_32 >> 32
            or t.timeout >> 32
            or t.ledger >> 32
            or t.code >> 16
        )
    except TypeError:
        return False


def check_transfers(transfers: Sequence[Transfer]) -> None:
    for index, transfer in enumerate(transfers):
        if not _fits(transfer):
            _check("transfers", index, transfer, tuple(_BITS))
        _check_flags(f"transfers[{index}].flags", transfer.flags, TransferFlags)
