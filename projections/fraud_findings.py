"""Reads of the fraud findings: each peer's risk score and its recent findings, for `settle risk`
and the API's risk route. Read-only; the fraud rules follower writes the table.

A peer's score is the sum of its recent findings' weights (each recorded with the finding, from
its rule's settings), capped at 100: 0 means nothing was found within the window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

MAX_SCORE = 100
DEFAULT_WINDOW_SECONDS = 86_400
RECENT_FINDINGS = 20  # findings listed per peer


@dataclass(frozen=True)
class RiskScore:
    peer_id: str
    asset_code: str
    score: int
    findings: int
    rules: dict[str, int]  # rule -> findings within the window
    last_at: datetime | None
    recent: list[dict[str, Any]] = field(default_factory=list)


def risk_scores(
    pool: ConnectionPool[Any],
    now: datetime,
    window_seconds: int = DEFAULT_WINDOW_SECONDS,
    peer: str | None = None,
) -> list[RiskScore]:
    """Every peer with findings in the window (or the one named), highest score first."""
    since = now - timedelta(seconds=window_seconds)
    query = (
        "SELECT finding_id, peer_id, asset_code, rule, action, facts, weight, at"
        " FROM fraud_findings"
        " WHERE at > %s AND at <= %s"
    )
    params: list[Any] = [since, now]
    if peer is not None:
        query += " AND peer_id = %s"
        params.append(peer)
    with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cursor:
        rows = cursor.execute(query + " ORDER BY at DESC, finding_id", params).fetchall()
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault((row["peer_id"], row["asset_code"]), []).append(row)
    scores = [_score(peer_id, asset, found) for (peer_id, asset), found in grouped.items()]
    return sorted(scores, key=lambda s: (-s.score, s.peer_id, s.asset_code))


def _score(peer_id: str, asset_code: str, rows: list[dict[str, Any]]) -> RiskScore:
    rules: dict[str, int] = {}
    points = 0
    for row in rows:
        rules[row["rule"]] = rules.get(row["rule"], 0) + 1
        points += int(row["weight"])
    recent = [
        {
            "finding_id": row["finding_id"],
            "rule": row["rule"],
            "action": row["action"],
            "facts": row["facts"],
            "at": row["at"],
        }
        for row in rows[:RECENT_FINDINGS]
    ]
    return RiskScore(
        peer_id, asset_code, min(MAX_SCORE, points), len(rows), rules, rows[0]["at"], recent
    )


class RiskReader:
    """The risk scores on the node's pool, for the API (which holds no pool of its own)."""

    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self._pool = pool

    def scores(
        self, now: datetime, window_seconds: int = DEFAULT_WINDOW_SECONDS, peer: str | None = None
    ) -> list[RiskScore]:
        return risk_scores(self._pool, now, window_seconds, peer)
