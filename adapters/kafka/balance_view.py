"""The reference consumer's downstream balance view, rebuilt from Kafka alone, kept in SQLite.

Each message is applied at most once: the view remembers, per account, the last aggregate
version applied and applies only the next one. Redelivered messages (version already applied)
are dropped; a message arriving after a gap (possible only when a failed publish was partly
delivered) is dropped too, because the publisher re-sends from before the gap.
Money is stored as decimal text: amounts go up to 2**128-1, beyond SQLite's integers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.kafka.messages import EventMessageV1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    account_id TEXT PRIMARY KEY,
    peer_id TEXT NOT NULL,
    asset_code TEXT NOT NULL,
    asset_scale INTEGER NOT NULL,
    payable TEXT NOT NULL DEFAULT '0',
    receivable TEXT NOT NULL DEFAULT '0',
    in_flight TEXT NOT NULL DEFAULT '0',
    paused INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL,
    position INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS applied (
    account_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    position INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class AccountBalance:
    peer_id: str
    asset_code: str
    payable: int
    receivable: int
    in_flight: int
    paused: bool


@dataclass
class ApplyOutcome:
    applied: int = 0
    duplicates: int = 0
    gaps: int = 0
    ignored: int = 0


def balance_deltas(event_type: str, payload: dict[str, Any]) -> tuple[int, int, int] | None:
    """(payable, receivable, in-flight) changes of one PeerAccount event, None if it has none."""
    if event_type == "PeerAccount.PacketsRecorded":
        return payload["outgoing_total"], payload["incoming_total"], 0
    if event_type == "PeerAccount.SettlementReserved":
        return -payload["amount"], 0, payload["amount"]
    if event_type == "PeerAccount.SettlementApplied":
        return 0, 0, -payload["amount"]
    if event_type == "PeerAccount.SettlementReleased":
        return payload["amount"], 0, -payload["amount"]
    if event_type == "PeerAccount.SettlementReceived":
        return 0, -payload["amount"], 0
    return None


class BalanceView:
    """Balances per peer and asset; one SQLite file, safe for several consumer processes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # Used by one thread at a time, possibly not the one that opened it.
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def apply(self, messages: Iterable[EventMessageV1]) -> ApplyOutcome:
        """Applies the messages in one transaction."""
        outcome = ApplyOutcome()
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for message in messages:
                self._apply_one(message, outcome)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return outcome

    def balances(self) -> dict[tuple[str, str], AccountBalance]:
        rows = self._db.execute(
            "SELECT peer_id, asset_code, payable, receivable, in_flight, paused FROM accounts"
        ).fetchall()
        return {
            (row[0], row[1]): AccountBalance(
                row[0], row[1], int(row[2]), int(row[3]), int(row[4]), bool(row[5])
            )
            for row in rows
        }

    def last_position(self) -> int:
        row = self._db.execute("SELECT coalesce(max(position), 0) FROM applied").fetchone()
        return int(row[0])

    def close(self) -> None:
        self._db.close()

    def _apply_one(self, message: EventMessageV1, outcome: ApplyOutcome) -> None:
        if message.aggregate_type != "PeerAccount":
            outcome.ignored += 1
            return
        account_id = str(message.aggregate_id)
        row = self._db.execute(
            "SELECT version FROM applied WHERE account_id = ?", (account_id,)
        ).fetchone()
        last_version = int(row[0]) if row else 0
        if message.aggregate_version <= last_version:
            outcome.duplicates += 1
            return
        if message.aggregate_version != last_version + 1:
            outcome.gaps += 1
            return
        self._change_account(account_id, message)
        self._db.execute(
            "INSERT INTO applied (account_id, version, position) VALUES (?, ?, ?) "
            "ON CONFLICT (account_id) DO UPDATE SET version = excluded.version, "
            "position = excluded.position",
            (account_id, message.aggregate_version, message.position),
        )
        outcome.applied += 1

    def _change_account(self, account_id: str, message: EventMessageV1) -> None:
        payload = message.payload
        if message.event_type == "PeerAccount.Opened":
            self._db.execute(
                "INSERT INTO accounts (account_id, peer_id, asset_code, asset_scale, version, "
                "position) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    account_id,
                    payload["peer_id"],
                    payload["asset_code"],
                    payload["asset_scale"],
                    message.aggregate_version,
                    message.position,
                ),
            )
            return
        row = self._db.execute(
            "SELECT payable, receivable, in_flight, paused FROM accounts WHERE account_id = ?",
            (account_id,),
        ).fetchone()
        if row is None:  # only possible if the topic lost its first messages
            return
        payable, receivable, in_flight = int(row[0]), int(row[1]), int(row[2])
        paused = bool(row[3])
        delta = balance_deltas(message.event_type, payload)
        if delta is not None:
            d_payable, d_receivable, d_in_flight = delta
            payable, receivable, in_flight = (
                payable + d_payable,
                receivable + d_receivable,
                in_flight + d_in_flight,
            )
        elif message.event_type == "PeerAccount.Paused":
            paused = True
        elif message.event_type == "PeerAccount.Resumed":
            paused = False
        self._db.execute(
            "UPDATE accounts SET payable = ?, receivable = ?, in_flight = ?, paused = ?, "
            "version = ?, position = ? WHERE account_id = ?",
            (
                str(payable),
                str(receivable),
                str(in_flight),
                int(paused),
                message.aggregate_version,
                message.position,
                account_id,
            ),
        )
