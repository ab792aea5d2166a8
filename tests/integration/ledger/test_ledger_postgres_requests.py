"""The PostgreSQL backend's request path: a request first assumes its transfer ids are new and
reads nothing of them; stored ids must still get exactly the answers of a careful request.

A stored id among new ones (the primary key refuses the write: the retry reads them), a stored
id whose resubmission would otherwise fail (the rules run again with it read), and a batch that
breaks a limit midway (the loop, not the one-pass check, decides).
"""

from __future__ import annotations

from dataclasses import replace

from adapters.ledger.port import AccountFlags
from adapters.ledger.postgres_backend import PostgresLedger
from adapters.ledger.postgres_transfers import COPY_FROM
from tests.support.ledger_contract import (
    DR_LIMIT,
    R,
    balance,
    fund,
    new_id,
    open_accounts,
    transfer,
)


def test_a_stored_id_among_new_ones_is_exists_and_moves_nothing_twice(
    postgres_ledger: PostgresLedger,
) -> None:
    debit, credit = open_accounts(postgres_ledger, AccountFlags.NONE, AccountFlags.NONE)
    first = transfer(debit, credit, 10)
    assert postgres_ledger.create_transfers([first]) == [R.CREATED]
    batch = [transfer(debit, credit, 1), first, transfer(debit, credit, 2)]
    assert postgres_ledger.create_transfers(batch) == [R.CREATED, R.EXISTS, R.CREATED]
    assert postgres_ledger.create_transfers(batch) == [R.EXISTS] * 3
    assert balance(postgres_ledger, debit).debits_posted == 13
    assert balance(postgres_ledger, credit).credits_posted == 13


def test_a_stored_id_sent_again_with_a_missing_account_is_exists_with_different(
    postgres_ledger: PostgresLedger,
) -> None:
    debit, credit = open_accounts(postgres_ledger, AccountFlags.NONE, AccountFlags.NONE)
    stored = transfer(debit, credit, 10)
    assert postgres_ledger.create_transfers([stored]) == [R.CREATED]
    unknown = replace(stored, debit_account_id=new_id())
    assert postgres_ledger.create_transfers([unknown]) == [R.EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID]
    # Not spent as failed: the id is the stored transfer's, which is still found.
    assert postgres_ledger.create_transfers([stored]) == [R.EXISTS]
    assert postgres_ledger.lookup_transfers([stored.id]) == [stored]


def test_a_limit_broken_midway_refuses_from_that_transfer_on(
    postgres_ledger: PostgresLedger,
) -> None:
    limited, other = open_accounts(postgres_ledger, DR_LIMIT, AccountFlags.NONE)
    fund(postgres_ledger, limited, 10)
    batch = [transfer(limited, other, 4) for _ in range(4)]
    assert postgres_ledger.create_transfers(batch) == [R.CREATED] * 2 + [R.EXCEEDS_CREDITS] * 2
    assert balance(postgres_ledger, limited).debits_posted == 8
    assert postgres_ledger.create_transfers(batch[2:]) == [R.ID_ALREADY_FAILED] * 2


def test_a_large_request_is_written_with_copy_and_reads_back_the_same(
    postgres_ledger: PostgresLedger,
) -> None:
    debit, credit = open_accounts(postgres_ledger, AccountFlags.NONE, AccountFlags.NONE)
    batch = [transfer(debit, credit, n % 7, user_data_32=n) for n in range(COPY_FROM + 5)]
    assert postgres_ledger.create_transfers(batch) == [R.CREATED] * len(batch)
    assert postgres_ledger.create_transfers(batch) == [R.EXISTS] * len(batch)
    assert balance(postgres_ledger, debit).debits_posted == sum(t.amount for t in batch)
    picked = [batch[0], batch[COPY_FROM], batch[-1]]
    assert postgres_ledger.lookup_transfers([t.id for t in picked]) == picked
