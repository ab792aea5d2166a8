"""The balances read model: per peer and asset, payable, receivable, in-flight, last settlement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from domain.peer_account import PeerAccount
from projections.runner import PositionedEvent, Projection


@dataclass
class _Delta:
    payable: int = 0
    receivable: int = 0
    in_flight: int = 0
    paused: bool | None = None
    last_settlement_id: UUID | None = None
    last_settlement_at: datetime | None = None
    peer_address: str | None = None
    version: int = 0


class BalancesProjection(Projection):
    name = "balances"

    def __init__(self, schema: str = "public") -> None:
        self.table = sql.Identifier(schema, "balances")

    def apply(self, cursor: psycopg.Cursor[Any], events: Sequence[PositionedEvent]) -> None:
        opened: list[tuple[Any, ...]] = []
        deltas: dict[UUID, _Delta] = {}
        for positioned in events:
            event = positioned.event
            if not isinstance(event, PeerAccount.Event):
                continue
            if isinstance(event, PeerAccount.Opened):
                opened.append(
                    (event.originator_id, event.peer_id, event.asset_code, event.asset_scale)
                )
            delta = deltas.setdefault(event.originator_id, _Delta())
            delta.version = event.originator_version
            _accumulate(delta, event)
        # Set-wise: one statement for the accounts opened, one for the others changed (each
        # account once, with its batch's changes added up), whatever the batch holds.
        if opened:
            cursor.execute(
                sql.SQL(
                    "INSERT INTO {} (account_id, peer_id, asset_code, asset_scale, version)"
                    " SELECT account_id, peer_id, asset_code, asset_scale, 1 FROM"
                    " unnest(%s::uuid[], %s::text[], %s::text[], %s::smallint[])"
                    " AS o (account_id, peer_id, asset_code, asset_scale)"
                ).format(self.table),
                [list(column) for column in zip(*opened, strict=True)],
            )
        if deltas:
            changes = [
                (
                    account_id,
                    d.payable,
                    d.receivable,
                    d.in_flight,
                    d.paused,
                    d.last_settlement_id,
                    d.last_settlement_at,
                    d.peer_address,
                    d.version,
                )
                for account_id, d in deltas.items()
            ]
            cursor.execute(
                sql.SQL(
                    "UPDATE {} b SET payable = b.payable + d.payable,"
                    " receivable = b.receivable + d.receivable,"
                    " in_flight = b.in_flight + d.in_flight, paused = coalesce(d.paused, b.paused),"
                    " last_settlement_id = coalesce(d.last_settlement_id, b.last_settlement_id),"
                    " last_settlement_at = coalesce(d.last_settlement_at, b.last_settlement_at),"
                    " peer_address = coalesce(d.peer_address, b.peer_address), version = d.version"
                    " FROM unnest(%s::uuid[], %s::numeric[], %s::numeric[], %s::numeric[],"
                    " %s::boolean[], %s::uuid[], %s::timestamptz[], %s::text[], %s::bigint[])"
                    " AS d (account_id, payable, receivable, in_flight, paused,"
                    " last_settlement_id, last_settlement_at, peer_address, version)"
                    " WHERE b.account_id = d.account_id"
                ).format(self.table),
                [list(column) for column in zip(*changes, strict=True)],
            )


def _accumulate(delta: _Delta, event: Any) -> None:
    if isinstance(event, PeerAccount.PacketsRecorded):
        delta.payable += event.outgoing_total
        delta.receivable += event.incoming_total
    elif isinstance(event, PeerAccount.SettlementReserved):
        delta.payable -= event.amount
        delta.in_flight += event.amount
    elif isinstance(event, PeerAccount.SettlementApplied):
        delta.in_flight -= event.amount
        delta.last_settlement_id = event.settlement_id
        delta.last_settlement_at = event.timestamp
    elif isinstance(event, PeerAccount.SettlementReleased):
        delta.in_flight -= event.amount
        delta.payable += event.amount
    elif isinstance(event, PeerAccount.SettlementReceived):
        delta.receivable -= event.amount
    elif isinstance(event, PeerAccount.PeerRegistered):
        delta.peer_address = event.address
    elif isinstance(event, PeerAccount.Paused):
        delta.paused = True
    elif isinstance(event, PeerAccount.Resumed):
        delta.paused = False
