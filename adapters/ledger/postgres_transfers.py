"""One create_transfers request on PostgreSQL: load and lock, apply the rules, write."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg

from adapters.ledger import postgres_rows as rows
from adapters.ledger.port import AccountBalance, CreateResult, Transfer, TransferFlags
from adapters.ledger.postgres_load import Loaded, load
from adapters.ledger.rules import BatchOutcome, TransferRules
from adapters.ledger.rules_checks import PendingState

COPY_FROM = 1000
"""Requests creating this many transfers write them with COPY; fewer, with one statement."""
_POST_OR_VOID = TransferFlags.POST_PENDING_TRANSFER | TransferFlags.VOID_PENDING_TRANSFER


def create_transfers(
    cur: psycopg.Cursor[Any], chunk: Sequence[Transfer], *, ids_new: bool = False
) -> list[CreateResult]:
    """One request. `ids_new`: first assume no transfer of the chunk is stored yet, and skip
    reading them (the common case: a replay after a crash is the exception). The assumption is
    checked either way: if every transfer is created, the table's primary key refuses a stored
    id (a unique violation: the caller retries with `ids_new` False); if any is not, its
    answer could depend on a stored transfer, so they are read and the rules run again."""
    pending_ids = {t.pending_id for t in chunk if t.flags and t.flags & _POST_OR_VOID}
    pending_ids.discard(0)
    if pending_ids:
        return _create_in_steps(cur, chunk, pending_ids)
    account_ids = {t.debit_account_id for t in chunk} | {t.credit_account_id for t in chunk}
    account_ids.discard(0)
    loaded = load(cur, (t.id for t in chunk), account_ids, len(chunk), stored=not ids_new)
    pending: dict[int, PendingState] = {}
    if loaded.due:  # rare: pending transfers with a timeout that passed
        others = {a for p in loaded.due for a in (p.debit_account_id, p.credit_account_id)}
        if others - loaded.accounts.keys():
            loaded.accounts |= rows.lock_accounts(cur, others - loaded.accounts.keys())
        # Read after locking: whoever changes a pending transfer holds its accounts' locks.
        pending = rows.fetch_pending(cur, {p.id for p in loaded.due})
    outcome = _decide(chunk, loaded, pending)
    if ids_new and any(result is not CreateResult.CREATED for result in outcome.results):
        loaded.transfers = rows.fetch_transfers(cur, {t.id for t in chunk})
        outcome = _decide(chunk, loaded, pending)
    _write(cur, outcome)
    return outcome.results


def _decide(
    chunk: Sequence[Transfer], loaded: Loaded, pending: dict[int, PendingState]
) -> BatchOutcome:
    """The rules on copies of what was read (they change what they are given)."""
    transfers = dict(loaded.transfers) | {p.id: p for p in loaded.due}
    rules = TransferRules(
        dict(loaded.accounts), transfers, dict(pending), set(loaded.failed), loaded.now_ns
    )
    rules.expire_due()
    return rules.apply(chunk, loaded.timestamps)


def _create_in_steps(
    cur: psycopg.Cursor[Any], chunk: Sequence[Transfer], pending_ids: set[int]
) -> list[CreateResult]:
    """A request with posts or voids: the accounts to lock are known once their pending
    transfers are read, so the reads go one after another."""
    now_ns = rows.database_now_ns(cur)
    transfers = rows.fetch_transfers(cur, {t.id for t in chunk} | pending_ids)
    cur.execute(
        "SELECT id FROM ledger_failed_transfers WHERE id = ANY(%s::uuid[])",
        (rows.uuids(t.id for t in chunk),),
    )
    failed = {row[0].int for row in cur.fetchall()}
    account_ids = {t.debit_account_id for t in chunk} | {t.credit_account_id for t in chunk}
    for pending_id in pending_ids & transfers.keys():
        p = transfers[pending_id]
        account_ids |= {p.debit_account_id, p.credit_account_id}
    account_ids.discard(0)
    rules = _load(cur, transfers, account_ids, pending_ids, failed, now_ns)
    rules.expire_due()
    outcome = rules.apply(chunk, rows.next_timestamps(cur, len(chunk)))
    _write(cur, outcome)
    return outcome.results


def expire_due(cur: psycopg.Cursor[Any], account_ids: set[int]) -> None:
    """Frees the amounts of the accounts' pending transfers whose timeout has passed."""
    now_ns = rows.database_now_ns(cur)
    rules = _load(cur, {}, account_ids, set(), set(), now_ns)
    rules.expire_due()
    outcome = rules.apply([], [])
    _write(cur, outcome)


def _load(
    cur: psycopg.Cursor[Any],
    transfers: dict[int, Transfer],
    account_ids: set[int],
    pending_ids: set[int],
    failed: set[int],
    now_ns: int,
) -> TransferRules:
    due = rows.fetch_due(cur, account_ids, now_ns)
    for p in due:
        transfers[p.id] = p
        account_ids |= {p.debit_account_id, p.credit_account_id}
    accounts = rows.lock_accounts(cur, account_ids) if account_ids else {}
    # Read after locking: whoever changes a pending transfer holds its accounts' locks.
    pending = rows.fetch_pending(cur, pending_ids | {p.id for p in due})
    return TransferRules(accounts, transfers, pending, failed, now_ns)


def _write(cur: psycopg.Cursor[Any], outcome: BatchOutcome) -> None:
    if len(outcome.created) < COPY_FROM:
        # One statement for the new transfers and the moved balances: a round trip is dearer
        # than the statement's extra work for so few rows.
        _insert_and_update(cur, outcome.created, outcome.accounts)
    else:
        rows.copy_text(
            cur,
            "ledger_transfers",
            rows.TRANSFER_COLUMNS,
            (rows.transfer_line(t, timestamp) for t, timestamp in outcome.created),
        )
        if outcome.accounts:
            _update_accounts(cur, outcome.accounts)
    if outcome.pending_changes:
        created = {t.id: t for t, _ in outcome.created}
        ids, debits, credits, statuses, expiries = [], [], [], [], []
        for pending_id, state in outcome.pending_changes.items():
            ids.append(pending_id)
            statuses.append(state.status)
            expiries.append(state.expires_at_ns)
            p = created.get(pending_id)
            debits.append(p.debit_account_id if p else 0)
            credits.append(p.credit_account_id if p else 0)
        cur.execute(
            "INSERT INTO ledger_pending (id, debit_account_id, credit_account_id, status,"
            " expires_at_ns) SELECT * FROM unnest(%s::uuid[], %s::uuid[], %s::uuid[],"
            " %s::text[], %s::bigint[])"
            " ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status",
            (rows.uuids(ids), rows.uuids(debits), rows.uuids(credits), statuses, expiries),
        )
    if outcome.failed:
        cur.execute(
            "INSERT INTO ledger_failed_transfers (id, result)"
            " SELECT * FROM unnest(%s::uuid[], %s::text[]) ON CONFLICT (id) DO NOTHING",
            (rows.uuids(outcome.failed), [r.value for r in outcome.failed.values()]),
        )


_UPDATE_ACCOUNTS = (
    "UPDATE ledger_accounts a SET debits_pending = v.dp, debits_posted = v.dq,"
    " credits_pending = v.cp, credits_posted = v.cq"
    " FROM unnest(%s::uuid[], %s::numeric[], %s::numeric[], %s::numeric[], %s::numeric[])"
    " AS v(id, dp, dq, cp, cq) WHERE a.id = v.id"
)
_INSERT_TRANSFERS = (
    # Constant names only; values are bound (bandit B608).
    f"INSERT INTO ledger_transfers ({rows.TRANSFER_COLUMNS}) SELECT * FROM unnest("  # nosec B608
    "%s::uuid[], %s::uuid[], %s::uuid[], %s::numeric[], %s::uuid[], %s::uuid[], %s::numeric[],"
    " %s::bigint[], %s::bigint[], %s::bigint[], %s::integer[], %s::integer[], %s::bigint[])"
)


def _update_accounts(cur: psycopg.Cursor[Any], accounts: Iterable[AccountBalance]) -> None:
    cur.execute(_UPDATE_ACCOUNTS, _account_columns(accounts))


def _account_columns(accounts: Iterable[AccountBalance]) -> list[str]:
    columns: list[list[int]] = [[], [], [], [], []]
    for a in accounts:
        columns[0].append(a.id)
        columns[1].append(a.debits_pending)
        columns[2].append(a.debits_posted)
        columns[3].append(a.credits_pending)
        columns[4].append(a.credits_posted)
    return [rows.uuids(columns[0]), *(rows.numbers(column) for column in columns[1:])]


def _insert_and_update(
    cur: psycopg.Cursor[Any], created: list[tuple[Transfer, int]], accounts: list[AccountBalance]
) -> None:
    parts, params = [], []
    if created:
        parts.append(f"new AS ({_INSERT_TRANSFERS})")
        params += rows.transfer_columns(created)
    if accounts:
        parts.append(f"moved AS ({_UPDATE_ACCOUNTS})")
        params += _account_columns(accounts)
    if parts:
        cur.execute(f"WITH {', '.join(parts)} SELECT 1", params)
