"""The ledger contract: both backends give the same result codes and balances.

Accounts, plain transfers, balance limits and reads here; linked chains and two-phase transfers
in `test_ledger_contract_pending`, flags and lookup round trips in `test_ledger_contract_flags`.
"""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from adapters.ledger.errors import InvalidLedgerField
from adapters.ledger.port import (
    AMOUNT_MAX,
    Account,
    AccountFlags,
    CreateResult,
    LedgerPort,
    TransferFlags,
    TransferQuery,
    iter_account_transfers,
)
from tests.support.ledger_contract import (
    CODE,
    CR_LIMIT,
    DR_LIMIT,
    LEDGER,
    R,
    balance,
    fund,
    new_id,
    open_accounts,
    transfer,
)

# Accounts


def test_creating_an_account_twice_is_exists(ledger: LedgerPort) -> None:
    account = Account(id=new_id(), ledger=LEDGER, code=CODE, flags=DR_LIMIT, user_data_64=7)
    assert ledger.create_accounts([account]) == [R.CREATED]
    assert ledger.create_accounts([account]) == [R.EXISTS]
    stored = balance(ledger, account.id)
    assert (stored.ledger, stored.code, stored.flags, stored.user_data_64) == (
        LEDGER,
        CODE,
        DR_LIMIT,
        7,
    )
    assert stored.timestamp > 0


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"flags": CR_LIMIT}, R.EXISTS_WITH_DIFFERENT_FLAGS),
        ({"user_data_128": 9}, R.EXISTS_WITH_DIFFERENT_USER_DATA_128),
        ({"user_data_32": 9}, R.EXISTS_WITH_DIFFERENT_USER_DATA_32),
        ({"ledger": LEDGER + 1}, R.EXISTS_WITH_DIFFERENT_LEDGER),
        ({"code": CODE + 1}, R.EXISTS_WITH_DIFFERENT_CODE),
    ],
)
def test_an_account_id_with_other_fields_is_exists_with_different(
    ledger: LedgerPort, change: dict[str, object], expected: CreateResult
) -> None:
    account = Account(id=new_id(), ledger=LEDGER, code=CODE, flags=DR_LIMIT)
    assert ledger.create_accounts([account]) == [R.CREATED]
    assert ledger.create_accounts([replace(account, **change)]) == [expected]  # type: ignore[arg-type]


def test_invalid_accounts_are_refused_with_their_reason(ledger: LedgerPort) -> None:
    results = ledger.create_accounts(
        [
            Account(id=0, ledger=LEDGER, code=CODE),
            Account(id=new_id(), ledger=0, code=CODE),
            Account(id=new_id(), ledger=LEDGER, code=0),
            Account(id=new_id(), ledger=LEDGER, code=CODE, flags=DR_LIMIT | CR_LIMIT),
        ]
    )
    assert results == [
        R.ID_MUST_NOT_BE_ZERO,
        R.LEDGER_MUST_NOT_BE_ZERO,
        R.CODE_MUST_NOT_BE_ZERO,
        R.FLAGS_ARE_MUTUALLY_EXCLUSIVE,
    ]


def test_a_linked_account_chain_with_a_bad_account_creates_none(ledger: LedgerPort) -> None:
    good = Account(id=new_id(), ledger=LEDGER, code=CODE, flags=AccountFlags.LINKED)
    bad = Account(id=new_id(), ledger=LEDGER, code=0)
    assert ledger.create_accounts([good, bad]) == [R.LINKED_EVENT_FAILED, R.CODE_MUST_NOT_BE_ZERO]
    assert ledger.lookup_accounts([good.id, bad.id]) == []


# Plain transfers


def test_a_transfer_moves_money_once(ledger: LedgerPort) -> None:
    debit, credit = open_accounts(ledger, AccountFlags.NONE, AccountFlags.NONE)
    t = transfer(debit, credit, 250, user_data_128=5, user_data_64=6, user_data_32=7)
    assert ledger.create_transfers([t]) == [R.CREATED]
    assert ledger.create_transfers([t]) == [R.EXISTS]
    assert balance(ledger, debit).debits_posted == 250
    assert balance(ledger, credit).credits_posted == 250
    [stored] = ledger.lookup_transfers([t.id])
    assert stored == t
    assert stored.timestamp > 0


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("amount", R.EXISTS_WITH_DIFFERENT_AMOUNT),
        ("user_data_128", R.EXISTS_WITH_DIFFERENT_USER_DATA_128),
        ("user_data_64", R.EXISTS_WITH_DIFFERENT_USER_DATA_64),
        ("user_data_32", R.EXISTS_WITH_DIFFERENT_USER_DATA_32),
        ("code", R.EXISTS_WITH_DIFFERENT_CODE),
    ],
)
def test_a_transfer_id_with_other_fields_is_exists_with_different(
    ledger: LedgerPort, field: str, expected: CreateResult
) -> None:
    debit, credit = open_accounts(ledger, AccountFlags.NONE, AccountFlags.NONE)
    t = transfer(debit, credit, 10)
    assert ledger.create_transfers([t]) == [R.CREATED]
    changed = replace(t, **{field: getattr(t, field) + 1})
    assert ledger.create_transfers([changed]) == [expected]
    assert expected.exists_with_different_fields
    assert balance(ledger, debit).debits_posted == 10


def test_a_transfer_id_with_other_accounts_or_flags_is_exists_with_different(
    ledger: LedgerPort,
) -> None:
    debit, credit, other = open_accounts(ledger, *[AccountFlags.NONE] * 3)
    t = transfer(debit, credit, 10)
    assert ledger.create_transfers([t]) == [R.CREATED]
    results = ledger.create_transfers(
        [
            replace(t, debit_account_id=other),
            replace(t, credit_account_id=other),
            replace(t, flags=TransferFlags.PENDING),
        ]
    )
    assert results == [
        R.EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID,
        R.EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID,
        R.EXISTS_WITH_DIFFERENT_FLAGS,
    ]


def test_invalid_transfers_are_refused_with_their_reason(ledger: LedgerPort) -> None:
    debit, credit = open_accounts(ledger, AccountFlags.NONE, AccountFlags.NONE)
    [elsewhere] = open_accounts(ledger, AccountFlags.NONE, number=LEDGER + 1)
    results = ledger.create_transfers(
        [
            transfer(debit, credit, 1, id=0),
            transfer(0, credit, 1),
            transfer(debit, 0, 1),
            transfer(debit, debit, 1),
            transfer(debit, credit, 1, pending_id=new_id()),
            transfer(debit, credit, 1, timeout=5),
            transfer(debit, credit, 1, ledger=0),
            transfer(debit, credit, 1, code=0),
            transfer(new_id(), credit, 1),
            transfer(debit, new_id(), 1),
            transfer(debit, elsewhere, 1),
            transfer(debit, credit, 1, ledger=LEDGER + 1),
        ]
    )
    assert results == [
        R.ID_MUST_NOT_BE_ZERO,
        R.DEBIT_ACCOUNT_ID_MUST_NOT_BE_ZERO,
        R.CREDIT_ACCOUNT_ID_MUST_NOT_BE_ZERO,
        R.ACCOUNTS_MUST_BE_DIFFERENT,
        R.PENDING_ID_MUST_BE_ZERO,
        R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER,
        R.LEDGER_MUST_NOT_BE_ZERO,
        R.CODE_MUST_NOT_BE_ZERO,
        R.DEBIT_ACCOUNT_NOT_FOUND,
        R.CREDIT_ACCOUNT_NOT_FOUND,
        R.ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER,
        R.TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS,
    ]
    assert balance(ledger, debit).debits_posted == 0


def test_out_of_range_fields_are_refused_before_sending(ledger: LedgerPort) -> None:
    debit, credit = open_accounts(ledger, AccountFlags.NONE, AccountFlags.NONE)
    with pytest.raises(InvalidLedgerField, match=r"transfers\[0\]\.amount"):
        ledger.create_transfers([transfer(debit, credit, AMOUNT_MAX + 1)])
    with pytest.raises(InvalidLedgerField, match=r"transfers\[0\]\.code"):
        ledger.create_transfers([transfer(debit, credit, 1, code=70_000)])


# Balance limits


def test_debits_must_not_exceed_credits_is_exceeds_credits(ledger: LedgerPort) -> None:
    payable, peer = open_accounts(ledger, DR_LIMIT, AccountFlags.NONE)
    fund(ledger, payable, 100)
    assert ledger.create_transfers([transfer(payable, peer, 101)]) == [R.EXCEEDS_CREDITS]
    assert ledger.create_transfers([transfer(payable, peer, 100)]) == [R.CREATED]
    assert balance(ledger, payable).debits_posted == 100


def test_credits_must_not_exceed_debits_is_exceeds_debits(ledger: LedgerPort) -> None:
    source, receivable = open_accounts(ledger, AccountFlags.NONE, CR_LIMIT)
    assert ledger.create_transfers([transfer(source, receivable, 1)]) == [R.EXCEEDS_DEBITS]
    assert balance(ledger, receivable).credits_posted == 0


def test_balance_limits_count_pending_amounts(ledger: LedgerPort) -> None:
    payable, peer = open_accounts(ledger, DR_LIMIT, AccountFlags.NONE)
    fund(ledger, payable, 100)
    hold = transfer(payable, peer, 60, flags=TransferFlags.PENDING)
    assert ledger.create_transfers([hold]) == [R.CREATED]
    assert ledger.create_transfers([transfer(payable, peer, 41)]) == [R.EXCEEDS_CREDITS]
    assert ledger.create_transfers([transfer(payable, peer, 40)]) == [R.CREATED]


def test_an_id_refused_for_the_ledger_state_is_spent(ledger: LedgerPort) -> None:
    payable, peer = open_accounts(ledger, DR_LIMIT, AccountFlags.NONE)
    attempt = transfer(payable, peer, 10)
    assert ledger.create_transfers([attempt]) == [R.EXCEEDS_CREDITS]
    fund(ledger, payable, 10)
    assert ledger.create_transfers([attempt]) == [R.ID_ALREADY_FAILED]
    assert balance(ledger, payable).debits_posted == 0


def test_concurrent_writers_cannot_overdraw_an_account(ledger: LedgerPort) -> None:
    payable, peer = open_accounts(ledger, DR_LIMIT, AccountFlags.NONE)
    fund(ledger, payable, 50)
    outcomes: list[CreateResult] = []

    def spend() -> None:
        for _ in range(10):
            outcomes.extend(ledger.create_transfers([transfer(payable, peer, 1)]))

    threads = [threading.Thread(target=spend) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(R.CREATED) == 50
    assert outcomes.count(R.EXCEEDS_CREDITS) == 30
    assert balance(ledger, payable).debits_posted == 50


# Reads


def test_lookups_keep_the_order_asked_and_leave_out_missing(ledger: LedgerPort) -> None:
    a, b = open_accounts(ledger, AccountFlags.NONE, AccountFlags.NONE)
    assert [x.id for x in ledger.lookup_accounts([b, new_id(), a])] == [b, a]
    first, second = transfer(a, b, 1), transfer(b, a, 2)
    assert ledger.create_transfers([first, second]) == [R.CREATED, R.CREATED]
    assert [t.id for t in ledger.lookup_transfers([second.id, new_id(), first.id])] == [
        second.id,
        first.id,
    ]


def test_account_transfers_lists_by_side_order_and_limit(ledger: LedgerPort) -> None:
    a, b = open_accounts(ledger, AccountFlags.NONE, AccountFlags.NONE)
    batch = [transfer(a, b, 1), transfer(b, a, 2), transfer(a, b, 3)]
    assert ledger.create_transfers(batch) == [R.CREATED] * 3
    ids = [t.id for t in batch]

    def listed(**query: object) -> list[int]:
        return [t.id for t in ledger.account_transfers(TransferQuery(account_id=a, **query))]  # type: ignore[arg-type]

    assert listed() == ids
    assert listed(credits=False) == [ids[0], ids[2]]
    assert listed(debits=False) == [ids[1]]
    assert listed(reversed=True, limit=2) == [ids[2], ids[1]]
    assert [t.id for t in iter_account_transfers(ledger, a)] == ids


def test_a_batch_over_the_request_limit_is_split_and_fully_applied(ledger: LedgerPort) -> None:
    a, b = open_accounts(ledger, AccountFlags.NONE, AccountFlags.NONE)
    batch = [transfer(a, b, 1) for _ in range(9000)]
    assert ledger.create_transfers(batch) == [R.CREATED] * 9000
    assert balance(ledger, b).credits_posted == 9000
    assert sum(1 for _ in iter_account_transfers(ledger, b)) == 9000
