"""Ledger rows <-> port objects for the PostgreSQL backend (uuid ids, numeric amounts)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

import psycopg

from adapters.ledger.port import AccountBalance, AccountFlags, Transfer, TransferFlags
from adapters.ledger.rules_checks import PendingState

ACCOUNT_COLUMNS = (
    "id, ledger, code, flags, user_data_128, user_data_64, user_data_32,"
    " debits_pending, debits_posted, credits_pending, credits_posted, timestamp"
)
TRANSFER_COLUMNS = (
    "id, debit_account_id, credit_account_id, amount, pending_id, user_data_128,"
    " user_data_64, user_data_32, timeout, ledger, code, flags, timestamp"
)


def uuids(ids: Iterable[int]) -> str:
    """128-bit ids as one array literal of 32-hex-digit uuids (cast with ::uuid[]).

    One string is far cheaper to send than thousands of adapted values; `to_bytes().hex()` is
    a few times faster than formatting with `:032x`.
    """
    return "{" + ",".join([value.to_bytes(16).hex() for value in ids]) + "}"


def numbers(values: Iterable[int]) -> str:
    """Ints as one array literal (cast with ::numeric[] or ::bigint[])."""
    return "{" + ",".join(map(str, values)) + "}"


def transfer_columns(created: Sequence[tuple[Transfer, int]]) -> list[str]:
    """(transfer, timestamp) pairs as one array literal per column of TRANSFER_COLUMNS."""
    return [
        uuids(t.id for t, _ in created),
        uuids(t.debit_account_id for t, _ in created),
        uuids(t.credit_account_id for t, _ in created),
        numbers(t.amount for t, _ in created),
        uuids(t.pending_id for t, _ in created),
        uuids(t.user_data_128 for t, _ in created),
        numbers(t.user_data_64 for t, _ in created),
        numbers(t.user_data_32 for t, _ in created),
        numbers(t.timeout for t, _ in created),
        numbers(t.ledger for t, _ in created),
        numbers(t.code for t, _ in created),
        numbers(int(t.flags) for t, _ in created),
        numbers(timestamp for _, timestamp in created),
    ]


def account_from_row(row: Sequence[Any]) -> AccountBalance:
    return AccountBalance(
        id=row[0].int,
        ledger=row[1],
        code=row[2],
        flags=AccountFlags(row[3]),
        user_data_128=row[4].int,
        user_data_64=int(row[5]),
        user_data_32=row[6],
        debits_pending=int(row[7]),
        debits_posted=int(row[8]),
        credits_pending=int(row[9]),
        credits_posted=int(row[10]),
        timestamp=row[11],
    )


def account_row(a: AccountBalance) -> tuple[Any, ...]:
    return (
        UUID(int=a.id),
        a.ledger,
        a.code,
        int(a.flags),
        UUID(int=a.user_data_128),
        a.user_data_64,
        a.user_data_32,
        a.debits_pending,
        a.debits_posted,
        a.credits_pending,
        a.credits_posted,
        a.timestamp,
    )


def transfer_from_row(row: Sequence[Any]) -> Transfer:
    return Transfer(
        id=row[0].int,
        debit_account_id=row[1].int,
        credit_account_id=row[2].int,
        amount=int(row[3]),
        pending_id=row[4].int,
        user_data_128=row[5].int,
        user_data_64=int(row[6]),
        user_data_32=row[7],
        timeout=row[8],
        ledger=row[9],
        code=row[10],
        flags=TransferFlags(row[11]),
        timestamp=row[12],
    )


def transfer_line(t: Transfer, timestamp: int) -> str:
    """One transfer as a line of COPY text (the fastest way in: no per-value adaptation)."""
    return (
        f"{t.id.to_bytes(16).hex()}\t{t.debit_account_id.to_bytes(16).hex()}\t"
        f"{t.credit_account_id.to_bytes(16).hex()}\t{t.amount}\t{t.pending_id.to_bytes(16).hex()}\t"
        f"{t.user_data_128.to_bytes(16).hex()}\t{t.user_data_64}\t{t.user_data_32}\t"
        f"{t.timeout}\t{t.ledger}\t{t.code}\t{int(t.flags)}\t{timestamp}\n"
    )


def copy_text(cur: psycopg.Cursor[Any], table: str, columns: str, lines: Iterable[str]) -> None:
    """Writes pre-formatted COPY text lines in one round trip."""
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        copy.write("".join(lines))


def copy_rows(
    cur: psycopg.Cursor[Any], table: str, columns: str, rows: Iterable[tuple[Any, ...]]
) -> None:
    """Writes rows with COPY: one round trip for the whole batch."""
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def fetch_transfers(cur: psycopg.Cursor[Any], ids: Iterable[int]) -> dict[int, Transfer]:
    cur.execute(
        # Constant names only; values are bound (bandit B608).
        f"SELECT {TRANSFER_COLUMNS} FROM ledger_transfers"  # nosec B608
        " WHERE id = ANY(%s::uuid[])",
        (uuids(ids),),
    )
    return {t.id: t for t in map(transfer_from_row, cur.fetchall())}


def lock_accounts(cur: psycopg.Cursor[Any], ids: Iterable[int]) -> dict[int, AccountBalance]:
    """Locks the accounts in id order (so two writers never wait on each other in a cycle)."""
    cur.execute(
        # Constant names only; values are bound (bandit B608).
        f"SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id = ANY(%s::uuid[])"  # nosec B608
        " ORDER BY id FOR UPDATE",
        (uuids(sorted(ids)),),
    )
    return {a.id: a for a in map(account_from_row, cur.fetchall())}


def fetch_pending(cur: psycopg.Cursor[Any], ids: Iterable[int]) -> dict[int, PendingState]:
    cur.execute(
        "SELECT id, status, expires_at_ns FROM ledger_pending WHERE id = ANY(%s::uuid[])",
        (uuids(ids),),
    )
    return {row[0].int: PendingState(row[1], row[2]) for row in cur.fetchall()}


def fetch_due(cur: psycopg.Cursor[Any], account_ids: Iterable[int], now_ns: int) -> list[Transfer]:
    """Pending transfers on these accounts whose timeout has passed."""
    ids = uuids(account_ids)
    cur.execute(
        # Constant names only; values are bound (bandit B608).
        f"SELECT {', '.join('t.' + c.strip() for c in TRANSFER_COLUMNS.split(','))}"  # nosec B608
        " FROM ledger_pending p JOIN ledger_transfers t ON t.id = p.id"
        " WHERE p.status = 'pending' AND p.expires_at_ns <= %s"
        " AND (p.debit_account_id = ANY(%s::uuid[]) OR p.credit_account_id = ANY(%s::uuid[]))",
        (now_ns, ids, ids),
    )
    return [transfer_from_row(row) for row in cur.fetchall()]


def next_timestamps(cur: psycopg.Cursor[Any], count: int) -> list[int]:
    cur.execute("SELECT nextval('ledger_timestamps') FROM generate_series(1, %s)", (count,))
    return [row[0] for row in cur.fetchall()]


def database_now_ns(cur: psycopg.Cursor[Any]) -> int:
    cur.execute("SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint")
    row = cur.fetchone()
    assert row is not None
    return int(row[0]) * 1000
