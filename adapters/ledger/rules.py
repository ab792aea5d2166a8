"""TigerBeetle's create_transfers rules, applied in memory to the rows one batch touches.

The PostgreSQL backend loads (and locks) the accounts and transfers a batch refers to, runs
this state machine, then writes the outcome. The checks and their order follow TigerBeetle's
state machine (src/state_machine.zig, 0.17), so both backends answer alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from adapters.ledger.chains import run_chains
from adapters.ledger.port import (
    AMOUNT_MAX,
    ID_MAX,
    AccountBalance,
    AccountFlags,
    CreateResult,
    Transfer,
    TransferFlags,
)
from adapters.ledger.rules_checks import PendingState, check_post_or_void, existing_result
from adapters.ledger.rules_plain import plain_balances

R = CreateResult
_MISSING = object()
# Flags as plain ints: IntFlag arithmetic is slow in a loop over thousands of transfers.
_PENDING = int(TransferFlags.PENDING)
_POST = int(TransferFlags.POST_PENDING_TRANSFER)
_VOID = int(TransferFlags.VOID_PENDING_TRANSFER)
_POST_OR_VOID = _POST | _VOID
_DR_LIMIT = int(AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
_CR_LIMIT = int(AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS)
Balance = tuple[int, int, int, int]
"""debits_pending, debits_posted, credits_pending, credits_posted"""
TRANSIENT = frozenset(
    {
        R.DEBIT_ACCOUNT_NOT_FOUND,
        R.CREDIT_ACCOUNT_NOT_FOUND,
        R.PENDING_TRANSFER_NOT_FOUND,
        R.EXCEEDS_CREDITS,
        R.EXCEEDS_DEBITS,
    }
)
"""Results that depend on the ledger's state: the id is then spent (`id_already_failed`)."""


@dataclass
class BatchOutcome:
    results: list[CreateResult]
    created: list[tuple[Transfer, int]]  # with its timestamp, oldest first
    pending_changes: dict[int, PendingState]
    failed: dict[int, CreateResult]
    accounts: list[AccountBalance]  # the accounts whose balances changed, as they are now


class TransferRules:
    """Applies transfers to the loaded accounts, transfers and pending states."""

    def __init__(
        self,
        accounts: dict[int, AccountBalance],
        transfers: dict[int, Transfer],
        pending: dict[int, PendingState],
        failed: set[int],
        now_ns: int,
    ) -> None:
        self.accounts = accounts
        self.balances: dict[int, Balance] = {
            a.id: (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted)
            for a in accounts.values()
        }
        self.timestamps: dict[int, int] = {}
        self.transfers = transfers
        self.pending = pending
        self.failed = failed
        self.now_ns = now_ns
        self._journal: list[tuple[dict[Any, Any], Any, Any]] = []
        self._outcome = BatchOutcome([], [], {}, {}, [])

    def apply(self, batch: Sequence[Transfer], timestamps: Sequence[int]) -> BatchOutcome:
        def create(index: int, t: Transfer) -> CreateResult:
            return self._create(t, timestamps[index])

        def failed(t: Transfer, result: CreateResult) -> None:
            if result in TRANSIENT:
                self._outcome.failed[t.id] = result
                self.failed.add(t.id)

        outcome = self._outcome
        moved = plain_balances(batch, self.accounts, self.balances, self.transfers, self.failed)
        if moved is None:
            outcome.results = run_chains(
                batch, create, lambda: len(self._journal), self._undo, failed
            )
        else:  # the common batch: every transfer created, each account moved once
            outcome.results = [R.CREATED] * len(batch)
            for account_id, balance in moved.items():
                self._set(self.balances, account_id, balance)
        changed: dict[int, set[int]] = {
            id(self.timestamps): set(),
            id(self.pending): set(),
            id(self.balances): set(),
            id(self.transfers): set(),
        }
        for table, key, _ in self._journal:
            changed[id(table)].add(key)
        outcome.created = sorted(
            ((self.transfers[key], self.timestamps[key]) for key in changed[id(self.timestamps)]),
            key=lambda created: created[1],
        )
        if moved is not None:
            outcome.created += zip(batch, timestamps, strict=True)
            self.transfers.update((t.id, t) for t in batch)
        outcome.pending_changes = {key: self.pending[key] for key in changed[id(self.pending)]}
        for key in changed[id(self.balances)]:
            dp, dq, cp, cq = self.balances[key]
            outcome.accounts.append(
                replace(
                    self.accounts[key],
                    debits_pending=dp,
                    debits_posted=dq,
                    credits_pending=cp,
                    credits_posted=cq,
                )
            )
        return outcome

    def expire_due(self) -> None:
        """Frees the amounts of pending transfers whose timeout has passed."""
        for pending_id, state in list(self.pending.items()):
            due = state.expires_at_ns is not None and state.expires_at_ns <= self.now_ns
            if state.status == "pending" and due:
                p = self.transfers[pending_id]
                self._set(self.pending, pending_id, PendingState("expired", state.expires_at_ns))
                self._move(p.debit_account_id, (-p.amount, 0, 0, 0))
                self._move(p.credit_account_id, (0, 0, -p.amount, 0))

    # Journal: every change goes through _set so a broken chain can be rolled back.

    def _set(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        self._journal.append((table, key, table.get(key, _MISSING)))
        table[key] = value

    def _undo(self, mark: int) -> None:
        while len(self._journal) > mark:
            table, key, old = self._journal.pop()
            if old is _MISSING:
                del table[key]
            else:
                table[key] = old

    # The rules

    def _create(self, t: Transfer, timestamp: int) -> CreateResult:
        if t.id == 0:
            return R.ID_MUST_NOT_BE_ZERO
        if t.id == ID_MAX:
            return R.ID_MUST_NOT_BE_INT_MAX
        existing = self.transfers.get(t.id)
        if existing is not None:
            return existing_result(t, existing, self.transfers.get(t.pending_id))
        if t.id in self.failed:
            return R.ID_ALREADY_FAILED
        flags = int(t.flags)
        if flags & _POST_OR_VOID:
            return self._post_or_void(t, timestamp)
        if t.debit_account_id == 0:
            return R.DEBIT_ACCOUNT_ID_MUST_NOT_BE_ZERO
        if t.debit_account_id == ID_MAX:
            return R.DEBIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX
        if t.credit_account_id == 0:
            return R.CREDIT_ACCOUNT_ID_MUST_NOT_BE_ZERO
        if t.credit_account_id == ID_MAX:
            return R.CREDIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX
        if t.credit_account_id == t.debit_account_id:
            return R.ACCOUNTS_MUST_BE_DIFFERENT
        if t.pending_id != 0:
            return R.PENDING_ID_MUST_BE_ZERO
        pending = bool(flags & _PENDING)
        if not pending and t.timeout != 0:
            return R.TIMEOUT_RESERVED_FOR_PENDING_TRANSFER
        if t.ledger == 0:
            return R.LEDGER_MUST_NOT_BE_ZERO
        if t.code == 0:
            return R.CODE_MUST_NOT_BE_ZERO
        dr = self.accounts.get(t.debit_account_id)
        if dr is None:
            return R.DEBIT_ACCOUNT_NOT_FOUND
        cr = self.accounts.get(t.credit_account_id)
        if cr is None:
            return R.CREDIT_ACCOUNT_NOT_FOUND
        if dr.ledger != cr.ledger:
            return R.ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER
        if t.ledger != dr.ledger:
            return R.TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS
        amount = t.amount
        dr_dp, dr_dq, _, dr_cq = self.balances[dr.id]
        _, cr_dq, cr_cp, cr_cq = self.balances[cr.id]
        if pending:
            if amount + dr_dp > AMOUNT_MAX:
                return R.OVERFLOWS_DEBITS_PENDING
            if amount + cr_cp > AMOUNT_MAX:
                return R.OVERFLOWS_CREDITS_PENDING
        if amount + dr_dq > AMOUNT_MAX:
            return R.OVERFLOWS_DEBITS_POSTED
        if amount + cr_cq > AMOUNT_MAX:
            return R.OVERFLOWS_CREDITS_POSTED
        if amount + dr_dp + dr_dq > AMOUNT_MAX:
            return R.OVERFLOWS_DEBITS
        if amount + cr_cp + cr_cq > AMOUNT_MAX:
            return R.OVERFLOWS_CREDITS
        if int(dr.flags) & _DR_LIMIT and dr_dp + dr_dq + amount > dr_cq:
            return R.EXCEEDS_CREDITS
        if int(cr.flags) & _CR_LIMIT and cr_cp + cr_cq + amount > cr_dq:
            return R.EXCEEDS_DEBITS
        self._set(self.transfers, t.id, t)
        self._set(self.timestamps, t.id, timestamp)
        if pending:
            expires = self.now_ns + t.timeout * 1_000_000_000 if t.timeout else None
            self._set(self.pending, t.id, PendingState("pending", expires))
            self._move(dr.id, (amount, 0, 0, 0))
            self._move(cr.id, (0, 0, amount, 0))
        else:
            self._move(dr.id, (0, amount, 0, 0))
            self._move(cr.id, (0, 0, 0, amount))
        return R.CREATED

    def _move(self, account_id: int, delta: Balance) -> None:
        dp, dq, cp, cq = self.balances[account_id]
        self._set(
            self.balances,
            account_id,
            (dp + delta[0], dq + delta[1], cp + delta[2], cq + delta[3]),
        )

    def _post_or_void(self, t: Transfer, timestamp: int) -> CreateResult:
        p = self.transfers.get(t.pending_id) if t.pending_id else None
        state = self.pending.get(p.id) if p is not None else None
        checked = check_post_or_void(t, p, state, self.now_ns)
        if isinstance(checked, CreateResult):
            return checked
        assert p is not None
        amount, post = checked
        stored = replace(
            t,
            debit_account_id=p.debit_account_id,
            credit_account_id=p.credit_account_id,
            user_data_128=t.user_data_128 or p.user_data_128,
            user_data_64=t.user_data_64 or p.user_data_64,
            user_data_32=t.user_data_32 or p.user_data_32,
            ledger=p.ledger,
            code=p.code,
            amount=amount,
            timestamp=timestamp,
        )
        self._set(self.transfers, t.id, stored)
        self._set(self.timestamps, t.id, timestamp)
        self._set(self.pending, p.id, PendingState("posted" if post else "voided", None))
        posted = amount if post else 0
        self._move(p.debit_account_id, (-p.amount, posted, 0, 0))
        self._move(p.credit_account_id, (0, 0, -p.amount, posted))
        return R.CREATED
