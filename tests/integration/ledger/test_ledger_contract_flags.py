"""The ledger contract for flags and lookups, on both backends.

Only the port's flags are accepted: every flag TigerBeetle knows and the port does not is
`unsupported`, every bit TigerBeetle reserves is `reserved_flag`, on both backends alike and
before anything is written. A lookup returns exactly what was stored.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from adapters.ledger.errors import InvalidLedgerField
from adapters.ledger.port import (
    FLAG_BITS,
    UNSUPPORTED_ACCOUNT_FLAGS,
    UNSUPPORTED_TRANSFER_FLAGS,
    Account,
    AccountBalance,
    AccountFlags,
    CreateResult,
    LedgerPort,
    Transfer,
    TransferFlags,
)
from tests.support.ledger_contract import (
    CODE,
    CR_LIMIT,
    DR_LIMIT,
    LEDGER,
    R,
    balance,
    new_id,
    open_accounts,
    transfer,
)

REFUSED_ACCOUNT_FLAGS = {
    **{name: (bit, R.UNSUPPORTED) for name, bit in UNSUPPORTED_ACCOUNT_FLAGS.items()},
    **{f"bit{b}": (1 << b, R.RESERVED_FLAG) for b in range(6, FLAG_BITS)},
}
REFUSED_TRANSFER_FLAGS = {
    **{name: (bit, R.UNSUPPORTED) for name, bit in UNSUPPORTED_TRANSFER_FLAGS.items()},
    **{f"bit{b}": (1 << b, R.RESERVED_FLAG) for b in range(9, FLAG_BITS)},
}
ACCOUNT_REFUSALS = [pytest.param(*case, id=name) for name, case in REFUSED_ACCOUNT_FLAGS.items()]
TRANSFER_REFUSALS = [pytest.param(*case, id=name) for name, case in REFUSED_TRANSFER_FLAGS.items()]


def test_the_refused_flags_are_every_bit_outside_the_supported_ones() -> None:
    every = {1 << b for b in range(FLAG_BITS)}
    refused_accounts = {bit for bit, _ in REFUSED_ACCOUNT_FLAGS.values()}
    refused_transfers = {bit for bit, _ in REFUSED_TRANSFER_FLAGS.values()}
    assert refused_accounts == every - {int(f) for f in AccountFlags if f}
    assert refused_transfers == every - {int(f) for f in TransferFlags if f}


@pytest.mark.parametrize(("bit", "expected"), ACCOUNT_REFUSALS)
def test_an_account_flag_outside_the_port_is_refused_and_nothing_written(
    ledger: LedgerPort, bit: int, expected: CreateResult
) -> None:
    refused = Account(
        id=new_id(), ledger=LEDGER, code=CODE, flags=AccountFlags(int(DR_LIMIT) | bit)
    )
    assert ledger.create_accounts([refused]) == [expected]
    assert ledger.lookup_accounts([refused.id]) == []
    allowed = replace(refused, flags=DR_LIMIT)
    assert ledger.create_accounts([allowed]) == [R.CREATED]  # the id was not spent
    assert ledger.create_accounts([refused]) == [expected]  # refused before `exists_with_*`
    assert balance(ledger, refused.id).flags == DR_LIMIT


@pytest.mark.parametrize(("bit", "expected"), TRANSFER_REFUSALS)
def test_a_transfer_flag_outside_the_port_is_refused_and_nothing_written(
    ledger: LedgerPort, bit: int, expected: CreateResult
) -> None:
    debit, credit = open_accounts(ledger, AccountFlags.NONE, AccountFlags.NONE)
    refused = transfer(debit, credit, 40, flags=TransferFlags(int(TransferFlags.PENDING) | bit))
    assert ledger.create_transfers([refused]) == [expected]
    assert ledger.lookup_transfers([refused.id]) == []
    assert balance(ledger, debit).debits_pending == 0
    allowed = replace(refused, flags=TransferFlags.PENDING)
    assert ledger.create_transfers([allowed]) == [R.CREATED]  # the id was not spent
    assert ledger.create_transfers([refused]) == [expected]  # refused before `exists_with_*`
    assert balance(ledger, debit).debits_pending == 40


def test_a_refused_flag_fails_its_linked_chain_and_leaves_the_rest_of_the_batch(
    ledger: LedgerPort,
) -> None:
    a, b = open_accounts(ledger, AccountFlags.NONE, AccountFlags.NONE)
    linked = TransferFlags.LINKED
    closing = TransferFlags(int(linked) | UNSUPPORTED_TRANSFER_FLAGS["closing_debit"])
    batch = [
        transfer(a, b, 1),
        transfer(a, b, 10, flags=linked),
        transfer(a, b, 20, flags=closing),
        transfer(a, b, 30),
        transfer(a, b, 2),
        transfer(a, b, 40, flags=closing),  # a chain left open at the end stays open
    ]
    assert ledger.create_transfers(batch) == [
        R.CREATED,
        R.LINKED_EVENT_FAILED,
        R.UNSUPPORTED,
        R.LINKED_EVENT_FAILED,
        R.CREATED,
        R.LINKED_EVENT_CHAIN_OPEN,
    ]
    found = ledger.lookup_transfers([t.id for t in batch])
    assert [t.id for t in found] == [batch[0].id, batch[4].id]
    assert balance(ledger, a).debits_posted == 3


def test_flags_that_do_not_fit_sixteen_bits_are_invalid_fields(ledger: LedgerPort) -> None:
    a, b = open_accounts(ledger, AccountFlags.NONE, AccountFlags.NONE)
    with pytest.raises(InvalidLedgerField, match=r"transfers\[1\]\.flags.*16 unsigned bits"):
        ledger.create_transfers(
            [transfer(a, b, 1), transfer(a, b, 1, flags=TransferFlags(1 << 16))]
        )
    with pytest.raises(InvalidLedgerField, match=r"accounts\[0\]\.flags.*not AccountFlags"):
        ledger.create_accounts([Account(id=new_id(), ledger=LEDGER, code=CODE, flags=2)])  # type: ignore[arg-type]
    assert balance(ledger, a).debits_posted == 0


# Lookups return what was stored


def stored_as(account: Account, found: AccountBalance) -> AccountBalance:
    return AccountBalance(
        id=account.id,
        ledger=account.ledger,
        code=account.code,
        flags=account.flags,
        debits_pending=0,
        debits_posted=0,
        credits_pending=0,
        credits_posted=0,
        user_data_128=account.user_data_128,
        user_data_64=account.user_data_64,
        user_data_32=account.user_data_32,
        timestamp=found.timestamp,
    )


def test_accounts_read_back_exactly_as_created(ledger: LedgerPort) -> None:
    widest = {"user_data_128": 2**128 - 1, "user_data_64": 2**64 - 1, "user_data_32": 2**32 - 1}
    accounts = [
        Account(
            id=new_id(),
            ledger=2**32 - 1,
            code=2**16 - 1,
            flags=AccountFlags.LINKED | DR_LIMIT,
            **widest,
        ),
        Account(id=new_id(), ledger=LEDGER, code=CODE, flags=CR_LIMIT, user_data_64=1),
        Account(id=new_id(), ledger=LEDGER, code=CODE),
    ]
    assert ledger.create_accounts(accounts) == [R.CREATED] * 3
    found = ledger.lookup_accounts([a.id for a in accounts])
    assert found == [stored_as(a, f) for a, f in zip(accounts, found, strict=True)]
    assert [type(f.flags) for f in found] == [AccountFlags] * 3
    assert [int(f.flags) for f in found] == [int(a.flags) for a in accounts]
    assert all(f.timestamp > 0 for f in found)


def test_transfers_read_back_exactly_as_created(ledger: LedgerPort) -> None:
    a, b = open_accounts(ledger, AccountFlags.NONE, AccountFlags.NONE)
    widest = {"user_data_128": 2**128 - 1, "user_data_64": 2**64 - 1, "user_data_32": 2**32 - 1}
    hold = transfer(a, b, 70, flags=TransferFlags.PENDING, timeout=3600, user_data_128=5)
    batch = [
        transfer(a, b, 2**64, code=2**16 - 1, flags=TransferFlags.LINKED, **widest),
        transfer(b, a, 1),
        hold,
    ]
    assert ledger.create_transfers(batch) == [R.CREATED] * 3
    found = ledger.lookup_transfers([t.id for t in batch])
    assert found == batch  # every field but the timestamp, which the ledger assigns
    assert [type(t.flags) for t in found] == [TransferFlags] * 3
    assert [int(t.flags) for t in found] == [int(t.flags) for t in batch]
    post = Transfer(
        id=new_id(),
        pending_id=hold.id,
        amount=30,
        user_data_64=9,
        flags=TransferFlags.POST_PENDING_TRANSFER,
    )
    assert ledger.create_transfers([post]) == [R.CREATED]
    [posted] = ledger.lookup_transfers([post.id])
    # A post stores the pending transfer's accounts, ledger, code and any user data it left 0.
    assert posted == replace(
        post, debit_account_id=a, credit_account_id=b, ledger=LEDGER, code=CODE, user_data_128=5
    )
    assert posted.timestamp > found[-1].timestamp > 0
