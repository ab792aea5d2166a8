"""Differential test: random batches give the same results and balances on both backends.

Some transfers carry a flag outside the port's contract: both backends must refuse it alike.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import replace

import pytest

from adapters.ledger.port import (
    AMOUNT_MAX,
    Account,
    AccountFlags,
    Transfer,
    TransferFlags,
)
from adapters.ledger.postgres_backend import PostgresLedger
from adapters.ledger.tigerbeetle_backend import TigerBeetleLedger

LEDGER = 900
FLAGS = [
    AccountFlags.NONE,
    AccountFlags.NONE,
    AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
    AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS,
]


def random_batch(rng: random.Random, accounts: list[int], seen: list[Transfer]) -> list[Transfer]:
    batch: list[Transfer] = []
    for _ in range(rng.randint(1, 12)):
        roll = rng.random()
        pendings = [t for t in seen + batch if t.flags & TransferFlags.PENDING]
        flags = TransferFlags.LINKED if rng.random() < 0.2 else TransferFlags.NONE
        if roll < 0.25 and pendings:
            p = rng.choice(pendings)
            kind = rng.choice(
                [TransferFlags.POST_PENDING_TRANSFER, TransferFlags.VOID_PENDING_TRANSFER]
            )
            amount = rng.choice([0, AMOUNT_MAX, p.amount, max(p.amount - 1, 0), p.amount + 1])
            t = Transfer(
                id=secrets.randbits(127) + 1, pending_id=p.id, amount=amount, flags=kind | flags
            )
        elif roll < 0.35 and seen:
            t = rng.choice(seen)  # a replay, maybe with one field changed
            if rng.random() < 0.5:
                t = Transfer(**{**t.__dict__, "amount": t.amount + 1})
        else:
            debit, credit = rng.sample(accounts, 2)
            pending = TransferFlags.PENDING if rng.random() < 0.3 else TransferFlags.NONE
            t = Transfer(
                id=secrets.randbits(127) + 1,
                debit_account_id=debit if rng.random() > 0.03 else secrets.randbits(127) + 1,
                credit_account_id=credit,
                amount=rng.randint(0, 60),
                ledger=LEDGER,
                code=rng.choice([1, 1, 1, 0]),
                flags=pending | flags,
            )
        if rng.random() < 0.05:  # a flag outside the port: both must refuse it alike
            t = replace(t, flags=TransferFlags(int(t.flags) | 1 << rng.randrange(4, 16)))
        batch.append(t)
    return batch


@pytest.mark.parametrize("seed", [1, 2])
def test_random_batches_agree_on_both_backends(
    seed: int, postgres_ledger: PostgresLedger, tigerbeetle_ledger: TigerBeetleLedger
) -> None:
    rng = random.Random(seed)
    accounts = [
        Account(id=secrets.randbits(127) + 1, ledger=LEDGER, code=1, flags=f) for f in FLAGS
    ]
    ids = [a.id for a in accounts]
    refused = [
        Account(id=secrets.randbits(127) + 1, ledger=LEDGER, code=1, flags=AccountFlags(1 << bit))
        for bit in range(3, 16)
    ]
    for ledger in (postgres_ledger, tigerbeetle_ledger):
        ledger.create_accounts(accounts)
    assert postgres_ledger.create_accounts(refused) == tigerbeetle_ledger.create_accounts(refused)
    seen: list[Transfer] = []
    for round_ in range(25):
        batch = random_batch(rng, ids, seen)
        on_postgres = postgres_ledger.create_transfers(batch)
        on_tigerbeetle = tigerbeetle_ledger.create_transfers(batch)
        assert on_postgres == on_tigerbeetle, (round_, batch)
        seen += batch
        balances = [
            [
                (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted)
                for a in backend.lookup_accounts(ids)
            ]
            for backend in (postgres_ledger, tigerbeetle_ledger)
        ]
        assert balances[0] == balances[1], round_
