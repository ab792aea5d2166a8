"""The `channel_observed_logs` and `channel_transactions` tables (migration 0095): the
idempotency records of a channel's chain facts and the history of its transactions.

Rows are inserted (and transaction outcomes set) by `EventRecorder.insert_events` in the
transaction that stores the channel's events (see `application.channel_log_index` and
`application.channel_transaction_index`); this module holds those writes and the lookups the
commands make inside their atomic save; it implements both application ports.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing import postgres as es_postgres
from psycopg import Cursor

from application.channel_log_index import LogRow
from application.channel_transaction_index import TransactionChanges, TransactionRow

_INSERT_LOG = (
    "INSERT INTO channel_observed_logs (channel_id, tx_hash, log_index) VALUES (%s, %s, %s)"
)
_INSERT_TRANSACTION = (
    "INSERT INTO channel_transactions (channel_id, tx_hash, purpose, raw_transaction, sender,"
    " nonce, signed_version) VALUES (%s, %s, %s, %s, %s, %s, %s)"
)
_SET_OUTCOME = (
    "UPDATE channel_transactions SET succeeded = %s, dropped = %s"
    " WHERE channel_id = %s AND tx_hash = %s"
)
_SELECT_ONE = (
    "SELECT channel_id, tx_hash, purpose, raw_transaction, sender, nonce, signed_version,"
    " succeeded, dropped FROM channel_transactions WHERE channel_id = %s AND "
)
_FIND = _SELECT_ONE + "tx_hash = %s"
_SUCCEEDED_FOR = _SELECT_ONE + "purpose = %s AND succeeded ORDER BY signed_version DESC LIMIT 1"
_OF_CHANNEL = _SELECT_ONE + "true ORDER BY signed_version"


def insert_logs(curs: Cursor[Any], rows: Sequence[LogRow]) -> None:
    """Inserts `rows` with the cursor of the events' transaction; a log recorded already
    raises the primary key's IntegrityError, which rolls the events back too."""
    curs.executemany(_INSERT_LOG, [(r.channel_id, r.tx_hash, r.log_index) for r in rows])


def write_transactions(curs: Cursor[Any], changes: TransactionChanges) -> None:
    """Inserts the signed transactions, then sets the outcomes, in the events' transaction."""
    if changes.signed:
        curs.executemany(
            _INSERT_TRANSACTION,
            [
                (r.channel_id, r.tx_hash, r.purpose, r.raw_transaction, r.sender, r.nonce,
                 r.signed_version)
                for r in changes.signed
            ],
        )  # fmt: skip
    if changes.outcomes:
        curs.executemany(
            _SET_OUTCOME,
            [(o.succeeded, o.dropped, o.channel_id, o.tx_hash) for o in changes.outcomes],
        )


def _row(found: dict[str, Any]) -> TransactionRow:
    return TransactionRow(
        channel_id=found["channel_id"],
        tx_hash=found["tx_hash"],
        purpose=found["purpose"],
        raw_transaction=found["raw_transaction"],
        sender=found["sender"],
        nonce=int(found["nonce"]),
        signed_version=int(found["signed_version"]),
        succeeded=found["succeeded"],
        dropped=bool(found["dropped"]),
    )


class PostgresChannelIndexes:
    """Both ports, `ObservedLogIndex` and `TransactionIndex`, on the event store's pool."""

    def __init__(self, datastore: es_postgres.PostgresDatastore) -> None:
        self.datastore = datastore

    def has_observed(self, channel_id: UUID, tx_hash: str, log_index: int) -> bool:
        row = LogRow.of(channel_id, tx_hash, log_index)
        with self.datastore.get_connection() as conn:
            found = conn.execute(
                "SELECT 1 FROM channel_observed_logs"
                " WHERE channel_id = %s AND tx_hash = %s AND log_index = %s",
                (row.channel_id, row.tx_hash, row.log_index),
            ).fetchone()
        return found is not None

    def find(self, channel_id: UUID, tx_hash: str) -> TransactionRow | None:
        found = self._select(_FIND, (channel_id, tx_hash))
        return _row(found[0]) if found else None

    def succeeded_for(self, channel_id: UUID, purpose: str) -> TransactionRow | None:
        """The latest signed transaction for `purpose` that succeeded."""
        found = self._select(_SUCCEEDED_FOR, (channel_id, purpose))
        return _row(found[0]) if found else None

    def of_channel(self, channel_id: UUID) -> list[TransactionRow]:
        return [_row(r) for r in self._select(_OF_CHANNEL, (channel_id,))]

    def _select(self, query: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        with self.datastore.get_connection() as conn:
            return conn.execute(query, params).fetchall()
