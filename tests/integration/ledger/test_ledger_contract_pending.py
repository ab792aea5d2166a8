"""The ledger contract for linked chains and two-phase transfers, on both backends."""

from __future__ import annotations

import time

from adapters.ledger.port import AMOUNT_MAX, AccountFlags, LedgerPort, Transfer, TransferFlags
from tests.support.ledger_contract import (
    CODE,
    DR_LIMIT,
    R,
    balance,
    fund,
    new_id,
    open_accounts,
    transfer,
)

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
