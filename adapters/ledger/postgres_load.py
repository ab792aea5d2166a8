"""Everything a create_transfers request of plain and pending transfers reads, in one round trip.

The reads of a request (the database clock and the pending transfers due by it, the transfers
and failed ids among the batch's ids, the batch's accounts locked in id order, the batch's
timestamps) go to the server as one query string of five statements: a round trip costs far
more than any of these statements when the machine is busy. The values are bound on the
client (`ClientCursor`), as a query string of several statements requires; they are ints and
uuid array literals built here, quoted by libpq. Pipeline mode would do the same, but psycopg
can stall in it on a request larger than the socket's buffer (see `adapters.postgres.event_store`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg

from adapters.ledger import postgres_rows as rows
from adapters.ledger.port import AccountBalance, Transfer

_DUE_COLUMNS = ", ".join("t." + column.strip() for column in rows.TRANSFER_COLUMNS.split(","))
# Constant names only; values are bound (bandit B608).
_NOW_AND_DUE = (
    "WITH now AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint * 1000 AS ns)"
    f" SELECT now.ns, {_DUE_COLUMNS} FROM now LEFT JOIN"  # nosec B608
    " (ledger_pending p JOIN ledger_transfers t ON t.id = p.id)"
    " ON p.status = 'pending' AND p.expires_at_ns <= now.ns"
    " AND (p.debit_account_id = ANY(%(accounts)s::uuid[])"
    " OR p.credit_account_id = ANY(%(accounts)s::uuid[]));"
)
_STORED = (
    f" SELECT {rows.TRANSFER_COLUMNS} FROM ledger_transfers"  # nosec B608
    " WHERE id = ANY(%(transfers)s::uuid[]);"
)
_FAILED_LOCKED_TIMESTAMPS = (
    " SELECT id FROM ledger_failed_transfers WHERE id = ANY(%(transfers)s::uuid[]);"
    f" SELECT {rows.ACCOUNT_COLUMNS} FROM ledger_accounts"  # nosec B608
    " WHERE id = ANY(%(accounts)s::uuid[]) ORDER BY id FOR UPDATE;"
    " SELECT nextval('ledger_timestamps') FROM generate_series(1, %(count)s)"
)


@dataclass
class Loaded:
    now_ns: int
    due: list[Transfer]  # pending transfers on these accounts whose timeout has passed
    transfers: dict[int, Transfer]  # stored transfers among the requested ids
    failed: set[int]  # spent ids among the requested ids
    accounts: dict[int, AccountBalance]  # locked, in id order
    timestamps: list[int]  # one per transfer of the batch, rising


def load(
    cur: psycopg.Cursor[Any],
    transfer_ids: Iterable[int],
    account_ids: Iterable[int],
    count: int,
    *,
    stored: bool = True,
) -> Loaded:
    """One round trip: the clock, due pending transfers, stored (unless `stored` is False)
    and failed ids, the accounts (locked) and `count` timestamps, taken after the locks."""
    params = {
        "accounts": rows.uuids(sorted(account_ids)),
        "transfers": rows.uuids(transfer_ids),
        "count": count,
    }
    query = _NOW_AND_DUE + (_STORED if stored else "") + _FAILED_LOCKED_TIMESTAMPS
    with psycopg.ClientCursor(cur.connection) as client:
        client.execute(query, params)
        now_and_due = client.fetchall()
        transfers: dict[int, Transfer] = {}
        if stored:
            client.nextset()
            transfers = {t.id: t for t in map(rows.transfer_from_row, client.fetchall())}
        client.nextset()
        failed = {row[0].int for row in client.fetchall()}
        client.nextset()
        accounts = {a.id: a for a in map(rows.account_from_row, client.fetchall())}
        client.nextset()
        timestamps = [row[0] for row in client.fetchall()]
    due = [rows.transfer_from_row(row[1:]) for row in now_and_due if row[1] is not None]
    return Loaded(int(now_and_due[0][0]), due, transfers, failed, accounts, timestamps)
