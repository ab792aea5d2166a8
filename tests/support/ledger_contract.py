"""What the ledger contract tests share: fresh ids, accounts and transfers on a test ledger."""

from __future__ import annotations

import secrets
from dataclasses import replace

from adapters.ledger.port import (
    Account,
    AccountBalance,
    AccountFlags,
    CreateResult,
    LedgerPort,
    Transfer,
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
