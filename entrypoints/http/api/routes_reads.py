"""Reads for the `read` scope: balances, settlements, channels and one aggregate's history.

Each list is one page (`limit`, at most 1000) with `next_cursor` for the next; rows come from the
read models through the node's read side, history from the event store. Balances, channels and
settlements take `at_position` or `as_of` for the read models as they were then.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query

from application.store import NotFound
from domain.errors import InvalidField
from domain.peer_account import PeerAccount
from domain.settlement import SettlementStatus
from entrypoints.http.api.auth import Caller, require
from entrypoints.http.api.deps import Clock, Reads, ReadsAt
from entrypoints.http.api.models import (
    BalancePage,
    ChannelPage,
    EventOut,
    HistoryPage,
    SettlementPage,
)
from entrypoints.http.api.settings import Scope
from projections.read_side import MAX_LIMIT

router = APIRouter(tags=["reads"])

Reader = Annotated[Caller, Depends(require(Scope.READ))]
Limit = Annotated[int | None, Query(ge=1, le=MAX_LIMIT, description="Rows per page (100).")]
Cursor = Annotated[str | None, Query(max_length=512, description="`next_cursor` of a page.")]
PeerFilter = Annotated[str | None, Query(min_length=1, max_length=128)]

_AGE = re.compile(r"^(\d{1,9})([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@router.get("/v1/balances", response_model=BalancePage, summary="Balances per peer and asset")
def list_balances(
    reads: ReadsAt, _: Reader, peer: PeerFilter = None, limit: Limit = None, cursor: Cursor = None
) -> dict[str, Any]:
    page = reads.balances(peer, limit=limit, cursor=cursor)
    return {"items": page.rows, "next_cursor": page.next_cursor}


@router.get("/v1/channels", response_model=ChannelPage, summary="Payment channels")
def list_channels(
    reads: ReadsAt, _: Reader, peer: PeerFilter = None, limit: Limit = None, cursor: Cursor = None
) -> dict[str, Any]:
    page = reads.channels(peer, limit=limit, cursor=cursor)
    return {"items": page.rows, "next_cursor": page.next_cursor}


@router.get(
    "/v1/settlements", response_model=SettlementPage, summary="Settlements by status, peer, age"
)
def list_settlements(
    reads: ReadsAt,
    clock: Clock,
    _: Reader,
    status: SettlementStatus | None = None,
    peer: PeerFilter = None,
    stuck: Annotated[
        str | None, Query(description="Not terminal and unchanged for longer: 90s, 15m, 2h, 1d.")
    ] = None,
    limit: Limit = None,
    cursor: Cursor = None,
) -> dict[str, Any]:
    page = reads.settlements(
        status=None if status is None else status.value,
        peer_id=peer,
        stuck_for=None if stuck is None else parse_age(stuck),
        now=clock(),
        limit=limit,
        cursor=cursor,
    )
    return {"items": page.rows, "next_cursor": page.next_cursor}


@router.get(
    "/v1/history/{aggregate_id}",
    response_model=HistoryPage,
    summary="Every event of a channel, settlement or peer account, by id",
)
def aggregate_history(
    aggregate_id: Annotated[str, Path(max_length=64)],
    reads: Reads,
    _: Reader,
    limit: Limit = None,
    cursor: Cursor = None,
) -> dict[str, Any]:
    try:
        parsed = UUID(aggregate_id)
    except ValueError:
        raise InvalidField("aggregate_id", aggregate_id, "is not a UUID") from None
    return _history(reads, parsed, limit, cursor)


@router.get(
    "/v1/history/{peer}/{asset}",
    response_model=HistoryPage,
    summary="Every event of one peer account",
)
def account_history(
    peer: Annotated[str, Path(min_length=1, max_length=128)],
    asset: Annotated[str, Path(min_length=1, max_length=16)],
    reads: Reads,
    _: Reader,
    limit: Limit = None,
    cursor: Cursor = None,
) -> dict[str, Any]:
    return _history(reads, PeerAccount.create_id(peer, asset), limit, cursor)


def _history(
    reads: Reads, aggregate_id: UUID, limit: int | None, cursor: str | None
) -> dict[str, Any]:
    page = reads.history(aggregate_id, limit=limit, cursor=cursor)
    if not page.rows and cursor is None:
        raise NotFound("aggregate", aggregate_id)
    items = [EventOut.model_validate({**r, "payload": plain(r["payload"])}) for r in page.rows]
    return {"aggregate_id": aggregate_id, "items": items, "next_cursor": page.next_cursor}


def parse_age(text: str) -> timedelta:
    """An age such as 90s, 15m, 2h or 1d (bare digits are seconds); 422 naming `stuck` if not."""
    match = _AGE.match(text.strip())
    if not match:
        raise InvalidField("stuck", text, "is not an age like 90s, 15m, 2h or 1d")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def plain(value: Any) -> Any:
    """An event payload in JSON's terms: whole numbers stay integers, ids and times strings."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, (UUID, datetime)):
        return str(value) if isinstance(value, UUID) else value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
