"""The ledger contract: both backends give the same result codes and balances."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import replace

import pytest

from adapters.ledger.errors import InvalidLedgerField
from adapters.ledger.port import (
    AMOUNT_MAX,
    Account,
    AccountBalance,
    AccountFlags,
    CreateResult,
    LedgerPort,
    Transfer,
    TransferFlags,
    TransferQuery,
    iter_account_transfers,
)

R = CreateResult
LEDGER = 700
CODE = 1
DR_LIMIT = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
CR_LIMIT = AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS


def new_id() -> int:
    return secrets.randbits(127) + 1


def open_accounts(ledger: LedgerPort, *flags: AccountFlags, number: int = LEDGER) -> list[int]:
    accounts = [Account(id=new_id(), ledger=number, code=CODE, flags=f) for f in flags]
    assert ledger.create_accounts(accounts) == [R.CREATED] * len(accounts)
    return [a.id for a in accounts]


def transfer(debit: int, credit: int, amount: int, **fields: object) -> Transfer:
    base = Transfer(
        id=new_id(),
        debit_account_id=debit,
        credit_account_id=credit,
        amount=amount,
        ledger=LEDGER,
        code=CODE,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def balance(ledger: LedgerPort, account_id: int) -> AccountBalance:
    [found] = ledger.lookup_accounts([account_id])
    return found


def fund(ledger: LedgerPort, account_id: int, amount: int) -> None:
    """Credits `amount` to the account from a fresh unlimited source account."""
    [source] = open_accounts(ledger, AccountFlags.NONE)
    assert ledger.create_transfers([transfer(source, account_id, amount)]) == [R.CREATED]


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


# Linked chains


def test_a_linked_chain_with_one_bad_leg_changes_nothing(ledger: LedgerPort) -> None:
    a, b, limited = open_accounts(ledger, AccountFlags.NONE, AccountFlags.NONE, DR_LIMIT)
    chain = [
        transfer(a, b, 5, flags=TransferFlags.LINKED),
        transfer(limited, b, 5, flags=TransferFlags.LINKED),
        transfer(b, a, 1),
    ]
    assert ledger.create_transfers(chain) == [
        R.LINKED_EVENT_FAILED,
        R.EXCEEDS_CREDITS,
        R.LINKED_EVENT_FAILED,
    ]
    assert ledger.lookup_transfers([t.id for t in chain]) == []
    for account in (a, b, limited):
        found = balance(ledger, account)
        assert (found.debits_posted, found.credits_posted) == (0, 0)


def test_a_good_linked_chain_applies_and_the_next_event_stands_alone(ledger: LedgerPort) -> None:
    a, b = open_accounts(ledger, AccountFlags.NONE, AccountFlags.NONE)
    batch = [
        transfer(a, b, 5, flags=TransferFlags.LINKED),
        transfer(b, a, 2),
        transfer(a, b, 1, code=0),
    ]
    assert ledger.create_transfers(batch) == [R.CREATED, R.CREATED, R.CODE_MUST_NOT_BE_ZERO]
    assert balance(ledger, a).debits_posted == 5
    assert balance(ledger, a).credits_posted == 2


def test_a_chain_left_open_at_the_end_fails(ledger: LedgerPort) -> None:
    a, b = open_accounts(ledger, AccountFlags.NONE, AccountFlags.NONE)
    batch = [transfer(a, b, 5, flags=TransferFlags.LINKED)] * 1 + [
        transfer(a, b, 6, flags=TransferFlags.LINKED)
    ]
    assert ledger.create_transfers(batch) == [
        R.LINKED_EVENT_FAILED,
        R.LINKED_EVENT_CHAIN_OPEN,
    ]
    assert balance(ledger, a).debits_posted == 0


# Two-phase transfers


def test_post_moves_pending_to_posted(ledger: LedgerPort) -> None:
    payable, peer = open_accounts(ledger, DR_LIMIT, AccountFlags.NONE)
    fund(ledger, payable, 100)
    hold = transfer(payable, peer, 70, flags=TransferFlags.PENDING)
    assert ledger.create_transfers([hold]) == [R.CREATED]
    held = balance(ledger, payable)
    assert (held.debits_pending, held.debits_posted) == (70, 0)
    post = Transfer(
        id=new_id(),
        pending_id=hold.id,
        amount=AMOUNT_MAX,
        flags=TransferFlags.POST_PENDING_TRANSFER,
    )
    assert ledger.create_transfers([post]) == [R.CREATED]
    assert ledger.create_transfers([post]) == [R.EXISTS]
    posted = balance(ledger, payable)
    assert (posted.debits_pending, posted.debits_posted) == (0, 70)
    [stored] = ledger.lookup_transfers([post.id])
    assert (stored.amount, stored.debit_account_id, stored.code) == (70, payable, CODE)


def test_a_partial_post_frees_the_rest(ledger: LedgerPort) -> None:
    a, b = open_accounts(ledger, AccountFlags.NONE, AccountFlags.NONE)
    hold = transfer(a, b, 70, flags=TransferFlags.PENDING)
    post = Transfer(
        id=new_id(), pending_id=hold.id, amount=30, flags=TransferFlags.POST_PENDING_TRANSFER
    )
    assert ledger.create_transfers([hold, post]) == [R.CREATED, R.CREATED]
    found = balance(ledger, a)
    assert (found.debits_pending, found.debits_posted) == (0, 30)


def test_void_returns_the_pending_amount(ledger: LedgerPort) -> None:
    payable, peer = open_accounts(ledger, DR_LIMIT, AccountFlags.NONE)
    fund(ledger, payable, 100)
    hold = transfer(payable, peer, 70, flags=TransferFlags.PENDING)
    void = Transfer(id=new_id(), pending_id=hold.id, flags=TransferFlags.VOID_PENDING_TRANSFER)
    assert ledger.create_transfers([hold, void]) == [R.CREATED, R.CREATED]
    found = balance(ledger, payable)
    assert (found.debits_pending, found.debits_posted) == (0, 0)
    assert ledger.create_transfers([transfer(payable, peer, 100)]) == [R.CREATED]


def test_a_pending_transfer_is_posted_or_voided_once(ledger: LedgerPort) -> None:
    a, b = open_accounts(ledger, AccountFlags.NONE, AccountFlags.NONE)
    posted = transfer(a, b, 10, flags=TransferFlags.PENDING)
    voided = transfer(a, b, 10, flags=TransferFlags.PENDING)
    post_flag, void_flag = TransferFlags.POST_PENDING_TRANSFER, TransferFlags.VOID_PENDING_TRANSFER
    results = ledger.create_transfers(
        [
            posted,
            voided,
            Transfer(id=new_id(), pending_id=posted.id, amount=10, flags=post_flag),
            Transfer(id=new_id(), pending_id=voided.id, flags=void_flag),
            Transfer(id=new_id(), pending_id=posted.id, flags=void_flag),
            Transfer(id=new_id(), pending_id=voided.id, amount=10, flags=post_flag),
        ]
    )
    assert results == [R.CREATED] * 4 + [
        R.PENDING_TRANSFER_ALREADY_POSTED,
        R.PENDING_TRANSFER_ALREADY_VOIDED,
    ]


def test_post_and_void_checks(ledger: LedgerPort) -> None:
    a, b, c = open_accounts(ledger, *[AccountFlags.NONE] * 3)
    hold = transfer(a, b, 10, flags=TransferFlags.PENDING)
    plain = transfer(a, b, 10)
    post_flag, void_flag = TransferFlags.POST_PENDING_TRANSFER, TransferFlags.VOID_PENDING_TRANSFER
    results = ledger.create_transfers(
        [
            hold,
            plain,
            Transfer(id=new_id(), pending_id=hold.id, amount=11, flags=post_flag),
            Transfer(id=new_id(), pending_id=hold.id, amount=5, flags=void_flag),
            Transfer(id=new_id(), pending_id=new_id(), amount=1, flags=post_flag),
            Transfer(id=new_id(), pending_id=plain.id, amount=1, flags=post_flag),
            Transfer(id=new_id(), pending_id=0, amount=1, flags=post_flag),
            Transfer(id=new_id(), pending_id=hold.id, flags=post_flag | void_flag),
            Transfer(
                id=new_id(), pending_id=hold.id, debit_account_id=c, amount=1, flags=post_flag
            ),
            Transfer(id=new_id(), pending_id=hold.id, code=CODE + 1, amount=1, flags=post_flag),
        ]
    )
    assert results == [
        R.CREATED,
        R.CREATED,
        R.EXCEEDS_PENDING_TRANSFER_AMOUNT,
        R.PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT,
        R.PENDING_TRANSFER_NOT_FOUND,
        R.PENDING_TRANSFER_NOT_PENDING,
        R.PENDING_ID_MUST_NOT_BE_ZERO,
        R.FLAGS_ARE_MUTUALLY_EXCLUSIVE,
        R.PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID,
        R.PENDING_TRANSFER_HAS_DIFFERENT_CODE,
    ]
    assert balance(ledger, a).debits_pending == 10


def test_a_pending_transfer_that_times_out_frees_its_amount(ledger: LedgerPort) -> None:
    payable, peer = open_accounts(ledger, DR_LIMIT, AccountFlags.NONE)
    fund(ledger, payable, 100)
    hold = transfer(payable, peer, 80, flags=TransferFlags.PENDING, timeout=1)
    assert ledger.create_transfers([hold]) == [R.CREATED]
    assert balance(ledger, payable).debits_pending == 80
    give_up = time.monotonic() + 30  # the replica expires on its own schedule; poll for it
    while balance(ledger, payable).debits_pending and time.monotonic() < give_up:
        time.sleep(0.2)
    assert balance(ledger, payable).debits_pending == 0
    post = Transfer(
        id=new_id(), pending_id=hold.id, amount=80, flags=TransferFlags.POST_PENDING_TRANSFER
    )
    assert ledger.create_transfers([post]) == [R.PENDING_TRANSFER_EXPIRED]
    assert ledger.create_transfers([transfer(payable, peer, 100)]) == [R.CREATED]


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
