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
        if opened:
            cursor.executemany(
                sql.SQL(
                    "INSERT INTO {} (account_id, peer_id, asset_code, asset_scale, version)"
                    " VALUES (%s, %s, %s, %s, 1)"
                ).format(self.table),
                opened,
            )
        if deltas:
            cursor.executemany(
                sql.SQL(
                    "UPDATE {} SET payable = payable + %s, receivable = receivable + %s,"
                    " in_flight = in_flight + %s, paused = coalesce(%s, paused),"
                    " last_settlement_id = coalesce(%s, last_settlement_id),"
                    " last_settlement_at = coalesce(%s, last_settlement_at),"
                    " peer_address = coalesce(%s, peer_address), version = %s"
                    " WHERE account_id = %s"
                ).format(self.table),
                [
                    (
                        d.payable,
                        d.receivable,
                        d.in_flight,
                        d.paused,
                        d.last_settlement_id,
                        d.last_settlement_at,
                        d.peer_address,
                        d.version,
                        account_id,
                    )
                    for account_id, d in deltas.items()
                ],
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
