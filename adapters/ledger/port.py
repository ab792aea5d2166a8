"""The ledger port: double-entry accounts and transfers with TigerBeetle's semantics.

Both backends (TigerBeetle and PostgreSQL) implement `LedgerPort` and answer with the same
`CreateResult` codes, named after TigerBeetle's own result codes. Amounts are ints in minor
units up to 2**128-1; ids are 128-bit ints (see `adapters.ledger.ids`). The flags below are
the whole contract: both backends refuse any other flag with the same code before writing
anything, and a lookup returns exactly what was stored.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import IntFlag, StrEnum
from typing import Protocol

AMOUNT_MAX = 2**128 - 1
ID_MAX = 2**128 - 1
BATCH_LIMIT = 8189
"""The TigerBeetle client's limit of events per request; both backends split at it."""


FLAG_BITS = 16
"""Flags are a u16 in TigerBeetle; a value that does not fit is an invalid field, not a flag."""


class AccountFlags(IntFlag):
    """The account flags this port supports; every other bit is refused (see below)."""

    NONE = 0
    LINKED = 1 << 0
    DEBITS_MUST_NOT_EXCEED_CREDITS = 1 << 1
    CREDITS_MUST_NOT_EXCEED_DEBITS = 1 << 2


class TransferFlags(IntFlag):
    """The transfer flags this port supports; every other bit is refused (see below)."""

    NONE = 0
    LINKED = 1 << 0
    PENDING = 1 << 1
    POST_PENDING_TRANSFER = 1 << 2
    VOID_PENDING_TRANSFER = 1 << 3


SUPPORTED_ACCOUNT_FLAGS = int(
    AccountFlags.LINKED
    | AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
    | AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
)
SUPPORTED_TRANSFER_FLAGS = int(
    TransferFlags.LINKED
    | TransferFlags.PENDING
    | TransferFlags.POST_PENDING_TRANSFER
    | TransferFlags.VOID_PENDING_TRANSFER
)
UNSUPPORTED_ACCOUNT_FLAGS = {"history": 1 << 3, "imported": 1 << 4, "closed": 1 << 5}
"""TigerBeetle's account flags the port does not model: refused as `unsupported`.

The PostgreSQL backend keeps no balance history, imports nothing and never closes accounts,
so neither backend accepts them. Any higher bit is TigerBeetle's padding: `reserved_flag`.
"""
UNSUPPORTED_TRANSFER_FLAGS = {
    "balancing_debit": 1 << 4,
    "balancing_credit": 1 << 5,
    "closing_debit": 1 << 6,
    "closing_credit": 1 << 7,
    "imported": 1 << 8,
}
"""TigerBeetle's transfer flags the port does not model: refused as `unsupported`.

Any higher bit is TigerBeetle's padding: `reserved_flag`.
"""


class CreateResult(StrEnum):
    """The outcome of one account or transfer in a batch (TigerBeetle's names)."""

    CREATED = "created"
    EXISTS = "exists"
    LINKED_EVENT_FAILED = "linked_event_failed"
    LINKED_EVENT_CHAIN_OPEN = "linked_event_chain_open"
    RESERVED_FLAG = "reserved_flag"
    ID_MUST_NOT_BE_ZERO = "id_must_not_be_zero"
    ID_MUST_NOT_BE_INT_MAX = "id_must_not_be_int_max"
    ID_ALREADY_FAILED = "id_already_failed"
    EXISTS_WITH_DIFFERENT_FLAGS = "exists_with_different_flags"
    EXISTS_WITH_DIFFERENT_PENDING_ID = "exists_with_different_pending_id"
    EXISTS_WITH_DIFFERENT_TIMEOUT = "exists_with_different_timeout"
    EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID = "exists_with_different_debit_account_id"
    EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID = "exists_with_different_credit_account_id"
    EXISTS_WITH_DIFFERENT_AMOUNT = "exists_with_different_amount"
    EXISTS_WITH_DIFFERENT_USER_DATA_128 = "exists_with_different_user_data_128"
    EXISTS_WITH_DIFFERENT_USER_DATA_64 = "exists_with_different_user_data_64"
    EXISTS_WITH_DIFFERENT_USER_DATA_32 = "exists_with_different_user_data_32"
    EXISTS_WITH_DIFFERENT_LEDGER = "exists_with_different_ledger"
    EXISTS_WITH_DIFFERENT_CODE = "exists_with_different_code"
    FLAGS_ARE_MUTUALLY_EXCLUSIVE = "flags_are_mutually_exclusive"
    LEDGER_MUST_NOT_BE_ZERO = "ledger_must_not_be_zero"
    CODE_MUST_NOT_BE_ZERO = "code_must_not_be_zero"
    DEBIT_ACCOUNT_ID_MUST_NOT_BE_ZERO = "debit_account_id_must_not_be_zero"
    DEBIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX = "debit_account_id_must_not_be_int_max"
    CREDIT_ACCOUNT_ID_MUST_NOT_BE_ZERO = "credit_account_id_must_not_be_zero"
    CREDIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX = "credit_account_id_must_not_be_int_max"
    ACCOUNTS_MUST_BE_DIFFERENT = "accounts_must_be_different"
    PENDING_ID_MUST_BE_ZERO = "pending_id_must_be_zero"
    PENDING_ID_MUST_NOT_BE_ZERO = "pending_id_must_not_be_zero"
    PENDING_ID_MUST_NOT_BE_INT_MAX = "pending_id_must_not_be_int_max"
    PENDING_ID_MUST_BE_DIFFERENT = "pending_id_must_be_different"
    TIMEOUT_RESERVED_FOR_PENDING_TRANSFER = "timeout_reserved_for_pending_transfer"
    DEBIT_ACCOUNT_NOT_FOUND = "debit_account_not_found"
    CREDIT_ACCOUNT_NOT_FOUND = "credit_account_not_found"
    ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER = "accounts_must_have_the_same_ledger"
    TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS = (
        "transfer_must_have_the_same_ledger_as_accounts"
    )
    PENDING_TRANSFER_NOT_FOUND = "pending_transfer_not_found"
    PENDING_TRANSFER_NOT_PENDING = "pending_transfer_not_pending"
    PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID = (
        "pending_transfer_has_different_debit_account_id"
    )
    PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID = (
        "pending_transfer_has_different_credit_account_id"
    )
    PENDING_TRANSFER_HAS_DIFFERENT_LEDGER = "pending_transfer_has_different_ledger"
    PENDING_TRANSFER_HAS_DIFFERENT_CODE = "pending_transfer_has_different_code"
    EXCEEDS_PENDING_TRANSFER_AMOUNT = "exceeds_pending_transfer_amount"
    PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT = "pending_transfer_has_different_amount"
    PENDING_TRANSFER_ALREADY_POSTED = "pending_transfer_already_posted"
    PENDING_TRANSFER_ALREADY_VOIDED = "pending_transfer_already_voided"
    PENDING_TRANSFER_EXPIRED = "pending_transfer_expired"
    OVERFLOWS_DEBITS_PENDING = "overflows_debits_pending"
    OVERFLOWS_CREDITS_PENDING = "overflows_credits_pending"
    OVERFLOWS_DEBITS_POSTED = "overflows_debits_posted"
    OVERFLOWS_CREDITS_POSTED = "overflows_credits_posted"
    OVERFLOWS_DEBITS = "overflows_debits"
    OVERFLOWS_CREDITS = "overflows_credits"
    OVERFLOWS_TIMEOUT = "overflows_timeout"
    EXCEEDS_CREDITS = "exceeds_credits"
    EXCEEDS_DEBITS = "exceeds_debits"
    DEBITS_PENDING_MUST_BE_ZERO = "debits_pending_must_be_zero"
    DEBITS_POSTED_MUST_BE_ZERO = "debits_posted_must_be_zero"
    CREDITS_PENDING_MUST_BE_ZERO = "credits_pending_must_be_zero"
    CREDITS_POSTED_MUST_BE_ZERO = "credits_posted_must_be_zero"
    UNSUPPORTED = "unsupported"
    """A flag TigerBeetle knows and this port does not support (`UNSUPPORTED_*_FLAGS`), or a
    TigerBeetle code this port does not model."""

    @property
    def succeeded(self) -> bool:
        """True when the event is now in the ledger exactly as submitted."""
        return self in (CreateResult.CREATED, CreateResult.EXISTS)

    @property
    def exists_with_different_fields(self) -> bool:
        return self.value.startswith("exists_with_different_")


@dataclass(frozen=True)
class Account:
    """An account to create; balances start at zero."""

    id: int
    ledger: int
    code: int
    flags: AccountFlags = AccountFlags.NONE
    user_data_128: int = 0
    user_data_64: int = 0
    user_data_32: int = 0


@dataclass(frozen=True)
class AccountBalance:
    """An account as the ledger holds it now."""

    id: int
    ledger: int
    code: int
    flags: AccountFlags
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int
    user_data_128: int = 0
    user_data_64: int = 0
    user_data_32: int = 0
    timestamp: int = 0

    @property
    def credit_balance(self) -> int:
        """Posted credits minus posted and pending debits (what a credit-normal account holds)."""
        return self.credits_posted - self.debits_posted - self.debits_pending

    @property
    def debit_balance(self) -> int:
        """Posted debits minus posted and pending credits (what a debit-normal account holds)."""
        return self.debits_posted - self.credits_posted - self.credits_pending


@dataclass(frozen=True)
class Transfer:
    """A transfer to create, or one read back (then `timestamp` is set).

    timeout is in seconds and only for pending transfers. For post/void, zero debit/credit
    account, ledger and code mean "as the pending transfer"; amount AMOUNT_MAX posts the whole
    pending amount, and a void's amount is 0 or the pending amount.
    """

    id: int
    debit_account_id: int = 0
    credit_account_id: int = 0
    amount: int = 0
    ledger: int = 0
    code: int = 0
    flags: TransferFlags = TransferFlags.NONE
    pending_id: int = 0
    timeout: int = 0
    user_data_128: int = 0
    user_data_64: int = 0
    user_data_32: int = 0
    timestamp: int = field(default=0, compare=False)


@dataclass(frozen=True)
class TransferQuery:
    """Which of an account's transfers to list, oldest first unless `reversed`."""

    account_id: int
    debits: bool = True
    credits: bool = True
    timestamp_min: int = 0
    timestamp_max: int = 0
    limit: int = BATCH_LIMIT
    reversed: bool = False


class LedgerPort(Protocol):
    """What the rest of the system may ask of a ledger; every call has a deadline."""

    def create_accounts(self, accounts: Sequence[Account]) -> list[CreateResult]:
        """One result per account, in order; creating an identical account again is EXISTS."""
        ...

    def create_transfers(self, transfers: Sequence[Transfer]) -> list[CreateResult]:
        """One result per transfer, in order; linked chains succeed or fail together."""
        ...

    def lookup_accounts(self, ids: Sequence[int]) -> list[AccountBalance]:
        """The accounts found, in the order asked; missing ids are left out."""
        ...

    def lookup_transfers(self, ids: Sequence[int]) -> list[Transfer]:
        """The transfers found, in the order asked; missing ids are left out."""
        ...

    def account_transfers(self, query: TransferQuery) -> list[Transfer]:
        """Up to `query.limit` transfers touching the account, by timestamp."""
        ...

    def close(self) -> None: ...


def iter_account_transfers(ledger: LedgerPort, account_id: int) -> Iterator[Transfer]:
    """Every transfer of an account, oldest first, page by page."""
    timestamp_min = 0
    while True:
        page = ledger.account_transfers(
            TransferQuery(account_id=account_id, timestamp_min=timestamp_min)
        )
        yield from page
        if len(page) < BATCH_LIMIT:
            return
        timestamp_min = page[-1].timestamp + 1
