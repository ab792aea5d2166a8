"""Read-model queries for the CLI and, later, the HTTP API."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from domain.settlement import TERMINAL


def _rows(database_url: str, query: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        return list(conn.execute(query, params).fetchall())  # type: ignore[arg-type]


def balances(database_url: str, peer_id: str | None = None) -> list[dict[str, Any]]:
    query = (
        "SELECT peer_id, asset_code, asset_scale, payable, receivable, in_flight, paused,"
        " last_settlement_id, last_settlement_at FROM balances"
    )
    if peer_id is not None:
        return _rows(database_url, query + " WHERE peer_id = %s ORDER BY asset_code", (peer_id,))
    return _rows(database_url, query + " ORDER BY peer_id, asset_code")


def channels(database_url: str) -> list[dict[str, Any]]:
    return _rows(
        database_url,
        "SELECT channel_id, peer_id, asset_code, chain_id, token_network, onchain_id, state,"
        " our_deposit, partner_deposit, our_nonce, our_transferred, partner_nonce,"
        " partner_transferred FROM channels ORDER BY peer_id, updated_at",
    )


def settlements(
    database_url: str,
    *,
    status: str | None = None,
    peer_id: str | None = None,
    stuck_for: timedelta | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Settlements by status, by peer, or stuck (not terminal, unchanged for over `stuck_for`)."""
    clauses: list[str] = []
    params: list[Any] = []
    if status is not None:
        clauses.append("status = %s")
        params.append(status)
    if peer_id is not None:
        clauses.append("peer_id = %s")
        params.append(peer_id)
    if stuck_for is not None:
        if now is None:
            raise ValueError("now is needed to find stuck settlements")
        clauses.append("NOT (status = ANY(%s)) AND updated_at < %s")
        params.extend([[s.value for s in TERMINAL], now - stuck_for])
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    return _rows(
        database_url,
        # Constant names only; values are bound (bandit B608).
        "SELECT settlement_id, peer_id, asset_code, amount, status, attempts, rail, tx_hash,"  # nosec B608
        " last_error,"
        " resolution, requested_at, updated_at, completed_at FROM settlements"
        + where
        + " ORDER BY requested_at",
        tuple(params),
    )
