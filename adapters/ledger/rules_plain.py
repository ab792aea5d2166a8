"""The common batch, checked in one pass: plain transfers that all succeed.

A batch of plain transfers (no flags, no pending id, no timeout: what packet postings are)
whose every check passes gives exactly the answer of TigerBeetle's loop in
`adapters.ledger.rules`: every transfer `created`, each account moved by its total. Whether
every check passes is decided per account over the whole batch, not per transfer: plain
transfers only ever add to posted amounts, so an account whose balance after the whole batch
neither overflows nor breaks its limit against the credits (or debits) it held before the
batch passed those checks at every transfer. Anything else (a flag, a known id, a missing
account, a total that would break a limit) returns None, and the caller runs the loop, which
finds the exact result of each transfer in order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from adapters.ledger.port import AMOUNT_MAX, ID_MAX, AccountBalance, AccountFlags, Transfer

_DR_LIMIT = int(AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
_CR_LIMIT = int(AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS)
Balance = tuple[int, int, int, int]
"""debits_pending, debits_posted, credits_pending, credits_posted"""


def plain_balances(
    batch: Sequence[Transfer],
    accounts: Mapping[int, AccountBalance],
    balances: Mapping[int, Balance],
    known: Mapping[int, object],
    failed: set[int],
) -> dict[int, Balance] | None:
    """The new balances of the accounts `batch` moves if every transfer in it is created,
    else None. `known` holds the transfer ids already stored, `failed` the spent ones."""
    debited: dict[int, int] = {}
    credited: dict[int, int] = {}
    for t in batch:
        if t.flags or t.pending_id or t.timeout or not 0 < t.id < ID_MAX:
            return None
        dr = accounts.get(t.debit_account_id)
        cr = accounts.get(t.credit_account_id)
        if dr is None or cr is None or dr is cr or not t.ledger == dr.ledger == cr.ledger:
            return None
        if not t.code or t.amount < 0:
            return None
        debited[dr.id] = debited.get(dr.id, 0) + t.amount
        credited[cr.id] = credited.get(cr.id, 0) + t.amount
    ids = {t.id for t in batch}
    if len(ids) != len(batch) or not ids.isdisjoint(known) or not ids.isdisjoint(failed):
        return None  # a repeated, stored or spent id has its own answer
    moved: dict[int, Balance] = {}
    for account_id in debited.keys() | credited.keys():
        dp, dq, cp, cq = balances[account_id]
        debits = dq + debited.get(account_id, 0)
        credits = cq + credited.get(account_id, 0)
        if dp + debits > AMOUNT_MAX or cp + credits > AMOUNT_MAX:
            return None  # also covers each posted total alone: pending amounts are >= 0
        flags = int(accounts[account_id].flags)
        # Against the balance before the batch: the other side only grows within it.
        if flags & _DR_LIMIT and dp + debits > cq:
            return None
        if flags & _CR_LIMIT and cp + credits > dq:
            return None
        moved[account_id] = (dp, debits, cp, credits)
    return moved
