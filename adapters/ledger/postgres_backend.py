"""The embedded ledger: TigerBeetle's semantics on PostgreSQL tables (migrations/0003).

Each request is one transaction: it locks the account rows it touches in id order, expires
pending transfers whose timeout passed, applies TigerBeetle's rules in memory
(`adapters.ledger.rules`) and writes the outcome with COPY and array statements. Conflicts
between concurrent writers (deadlock, the same id inserted twice) roll back and retry.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar
from uuid import UUID

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool, PoolTimeout

from adapters.ledger import postgres_rows as rows
from adapters.ledger.batches import split_batches
from adapters.ledger.chains import account_result, run_chains
from adapters.ledger.errors import LedgerUnavailable
from adapters.ledger.flags import ACCOUNT_FLAGS, TRANSFER_FLAGS
from adapters.ledger.port import (
    BATCH_LIMIT,
    Account,
    AccountBalance,
    CreateResult,
    Transfer,
    TransferQuery,
)
from adapters.ledger.postgres_transfers import create_transfers, expire_due
from adapters.ledger.validation import check_accounts, check_transfers

log = logging.getLogger(__name__)
T = TypeVar("T")
_RETRYABLE = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure, pg_errors.UniqueViolation)


class PostgresLedger:
    backend = "postgres"

    def __init__(
        self, database_url: str, *, deadline_seconds: float = 5.0, max_attempts: int = 8
    ) -> None:
        self._deadline = deadline_seconds
        self._max_attempts = max_attempts
        timeout_ms = int(deadline_seconds * 1000)
        self._pool = ConnectionPool(
            database_url,
            min_size=1,
            max_size=4,
            timeout=deadline_seconds,
            kwargs={
                "connect_timeout": max(1, int(deadline_seconds)),
                "options": f"-c statement_timeout={timeout_ms} -c lock_timeout={timeout_ms}",
            },
            open=False,
        )
        self._opened = False

    def close(self) -> None:
        if self._opened:
            self._pool.close()
            self._opened = False

    # Writes

    def create_accounts(self, accounts: Sequence[Account]) -> list[CreateResult]:
        check_accounts(accounts)
        return ACCOUNT_FLAGS.create(accounts, self._create_accounts)

    def create_transfers(self, transfers: Sequence[Transfer]) -> list[CreateResult]:
        check_transfers(transfers)
        return TRANSFER_FLAGS.create(transfers, self._create_transfers)

    def _create_accounts(self, accounts: Sequence[Account]) -> list[CreateResult]:
        results: list[CreateResult] = []
        for chunk in split_batches(accounts, BATCH_LIMIT):
            results += self._transaction("create_accounts", partial(_create_accounts, chunk=chunk))
        return results

    def _create_transfers(self, transfers: Sequence[Transfer]) -> list[CreateResult]:
        results: list[CreateResult] = []
        for chunk in split_batches(transfers, BATCH_LIMIT):
            results += self._transaction("create_transfers", _attempts(chunk))
        return results

    # Reads

    def lookup_accounts(self, ids: Sequence[int]) -> list[AccountBalance]:
        def lookup(cur: psycopg.Cursor[Any]) -> list[AccountBalance]:
            expire_due(cur, set(ids))
            cur.execute(
                # Constant names only; values are bound (bandit B608).
                f"SELECT {rows.ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id = ANY(%s::uuid[])",  # nosec B608
                (rows.uuids(ids),),
            )
            found = {a.id: a for a in map(rows.account_from_row, cur.fetchall())}
            return [found[i] for i in ids if i in found]

        return self._transaction("lookup_accounts", lookup)

    def lookup_transfers(self, ids: Sequence[int]) -> list[Transfer]:
        def lookup(cur: psycopg.Cursor[Any]) -> list[Transfer]:
            found = rows.fetch_transfers(cur, ids)
            return [found[i] for i in ids if i in found]

        return self._transaction("lookup_transfers", lookup)

    def account_transfers(self, query: TransferQuery) -> list[Transfer]:
        sides = []
        if query.debits:
            sides.append("debit_account_id = %(account)s")
        if query.credits:
            sides.append("credit_account_id = %(account)s")
        if not sides:
            return []
        sql = (
            # Constant names only; values are bound (bandit B608).
            f"SELECT {rows.TRANSFER_COLUMNS} FROM ledger_transfers"  # nosec B608
            f" WHERE ({' OR '.join(sides)}) AND timestamp >= %(min)s"
            f" AND (%(max)s = 0 OR timestamp <= %(max)s)"
            f" ORDER BY timestamp {'DESC' if query.reversed else 'ASC'} LIMIT %(limit)s"
        )
        params = {
            "account": UUID(int=query.account_id),
            "min": query.timestamp_min,
            "max": query.timestamp_max,
            "limit": min(query.limit, BATCH_LIMIT),
        }

        def select(cur: psycopg.Cursor[Any]) -> list[Transfer]:
            cur.execute(sql, params)
            return [rows.transfer_from_row(row) for row in cur.fetchall()]

        return self._transaction("account_transfers", select)

    # One transaction, retried on conflicts, with unavailability as a retryable error.

    def _transaction(self, operation: str, work: Callable[[psycopg.Cursor[Any]], T]) -> T:
        if not self._opened:
            self._pool.open(wait=False)
            self._opened = True
        for attempt in range(1, self._max_attempts + 1):
            try:
                with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                    return work(cur)
            except _RETRYABLE as error:
                if attempt == self._max_attempts:
                    raise
                log.info(
                    "ledger transaction conflict, retrying",
                    extra={"operation": operation, "attempt": attempt, "error": repr(error)},
                )
            except (PoolTimeout, psycopg.OperationalError) as error:
                if isinstance(error, pg_errors.QueryCanceled | pg_errors.LockNotAvailable):
                    raise LedgerUnavailable(self.backend, operation, "deadline exceeded") from error
                raise LedgerUnavailable(self.backend, operation, str(error).strip()) from error
        raise AssertionError("unreachable")


def _attempts(chunk: Sequence[Transfer]) -> Callable[[psycopg.Cursor[Any]], list[CreateResult]]:
    """The work of one request: the first attempt assumes the chunk's ids are new; a retry (a
    stored id refused by the primary key, or a conflict with another writer) reads them."""
    attempts = itertools.count()

    def create(cur: psycopg.Cursor[Any]) -> list[CreateResult]:
        return create_transfers(cur, chunk, ids_new=next(attempts) == 0)

    return create


def _create_accounts(cur: psycopg.Cursor[Any], chunk: Sequence[Account]) -> list[CreateResult]:
    cur.execute(
        # Constant names only; values are bound (bandit B608).
        f"SELECT {rows.ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id = ANY(%s::uuid[])",  # nosec B608
        (rows.uuids(a.id for a in chunk),),
    )
    stored = {a.id: a for a in map(rows.account_from_row, cur.fetchall())}
    created: list[Account] = []
    created_ids: dict[int, Account] = {}

    def create(_: int, account: Account) -> CreateResult:
        existing = stored.get(account.id)
        if existing is None and account.id in created_ids:
            existing = _balance(created_ids[account.id], 0)
        result = account_result(account, existing)
        if result is CreateResult.CREATED:
            created.append(account)
            created_ids[account.id] = account
        return result

    def undo(mark: int) -> None:
        for account in created[mark:]:
            del created_ids[account.id]
        del created[mark:]

    results = run_chains(chunk, create, lambda: len(created), undo, lambda _a, _r: None)
    if created:
        timestamps = rows.next_timestamps(cur, len(created))
        balances = (_balance(a, ts) for a, ts in zip(created, timestamps, strict=True))
        rows.copy_rows(
            cur, "ledger_accounts", rows.ACCOUNT_COLUMNS, (rows.account_row(b) for b in balances)
        )
    return results


def _balance(account: Account, timestamp: int) -> AccountBalance:
    return AccountBalance(
        id=account.id,
        ledger=account.ledger,
        code=account.code,
        flags=account.flags,
        debits_pending=0,
        debits_posted=0,
        credits_pending=0,
        credits_posted=0,
        user_data_128=account.user_data_128,
        user_data_64=account.user_data_64,
        user_data_32=account.user_data_32,
        timestamp=timestamp,
    )
