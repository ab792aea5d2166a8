"""The one-pass check of plain batches answers exactly as TigerBeetle's loop, transfer by transfer.

Random batches (limits near the balances, repeated and stored ids, unknown accounts, a few
flags) go through `TransferRules.apply` twice: as it runs, and with the one-pass path turned
off. Results, created transfers and balances must be the same.
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from adapters.ledger import rules as rules_module
from adapters.ledger.port import AccountBalance, AccountFlags, CreateResult, Transfer, TransferFlags
from adapters.ledger.rules import BatchOutcome, TransferRules
from adapters.ledger.rules_plain import plain_balances

FLAGS = [
    AccountFlags.NONE,
    AccountFlags.NONE,
    AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
    AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS,
]


def accounts(rng: random.Random) -> dict[int, AccountBalance]:
    made = {}
    for account_id in range(1, 6):
        made[account_id] = AccountBalance(
            id=account_id,
            ledger=1 if account_id < 5 else 2,
            code=1,
            flags=rng.choice(FLAGS),
            debits_pending=rng.randint(0, 20),
            debits_posted=rng.randint(0, rng.choice([200, 2000])),
            credits_pending=rng.randint(0, 20),
            credits_posted=rng.randint(0, rng.choice([200, 2000])),
        )
    return made


def batch(rng: random.Random, size: int) -> list[Transfer]:
    """Most batches plain (only limits may refuse), the others with every kind of oddity."""
    plain = rng.random() < 0.7
    made = []
    for _ in range(size):
        debit, credit = rng.sample(range(1, 5), 2) if plain else rng.choices(range(1, 7), k=2)
        roll = rng.random() if not plain else 0.5
        made.append(
            Transfer(
                id=rng.randint(1, 3 * size) if roll < 0.05 else rng.randint(10**6, 10**12),
                debit_account_id=debit,
                credit_account_id=credit,
                amount=rng.randint(0, 60),
                ledger=1 if plain or rng.random() < 0.97 else 2,
                code=1,
                flags=TransferFlags.LINKED if roll > 0.98 else TransferFlags.NONE,
            )
        )
    return made


def run(
    balances: dict[int, AccountBalance], transfers: list[Transfer], stored: dict[int, Transfer]
) -> BatchOutcome:
    rules = TransferRules(dict(balances), dict(stored), {}, {7}, 10**18)
    rules.expire_due()
    return rules.apply(transfers, list(range(100, 100 + len(transfers))))


@pytest.mark.parametrize("seed", range(300))
def test_one_pass_answers_as_the_loop(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    balances = accounts(rng)
    transfers = batch(rng, rng.choice([1, 3, 10, 40]))
    stored = {t.id: t for t in transfers[:1]} if rng.random() < 0.05 else {}
    fast = run(balances, transfers, stored)
    monkeypatch.setattr(rules_module, "plain_balances", lambda *_: None)
    slow = run(balances, transfers, stored)
    assert fast.results == slow.results
    assert fast.created == slow.created
    assert sorted(fast.accounts, key=lambda a: a.id) == sorted(slow.accounts, key=lambda a: a.id)
    assert fast.failed == slow.failed


def test_a_batch_within_every_limit_takes_the_one_pass() -> None:
    limited = AccountBalance(
        id=1, ledger=1, code=1, flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
        debits_pending=0, debits_posted=0, credits_pending=0, credits_posted=10,
    )  # fmt: skip
    other = replace(limited, id=2, flags=AccountFlags.NONE, credits_posted=0)
    accounts_by_id = {1: limited, 2: other}
    balances = {1: (0, 0, 0, 10), 2: (0, 0, 0, 0)}
    within = [Transfer(id=i, debit_account_id=1, credit_account_id=2, amount=5, ledger=1, code=1)
              for i in (11, 12)]  # fmt: skip
    assert plain_balances(within, accounts_by_id, balances, {}, set()) == {
        1: (0, 10, 0, 10),
        2: (0, 0, 0, 10),
    }
    beyond = [*within, replace(within[0], id=13)]
    assert plain_balances(beyond, accounts_by_id, balances, {}, set()) is None
    outcome = run(accounts_by_id, beyond, {})
    assert outcome.results == [CreateResult.CREATED] * 2 + [CreateResult.EXCEEDS_CREDITS]
