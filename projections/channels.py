"""The channels read model: state, deposits, latest nonce and transferred amount both ways."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql

from domain.channel import Channel, ChannelState
from projections.runner import PositionedEvent, Projection


class ChannelsProjection(Projection):
    name = "channels"

    def __init__(self, schema: str = "public") -> None:
        self.table = sql.Identifier(schema, "channels")

    def apply(self, cursor: psycopg.Cursor[Any], events: Sequence[PositionedEvent]) -> None:
        for positioned in events:
            event = positioned.event
            if not isinstance(event, Channel.Event):
                continue
            if isinstance(event, Channel.OpenRequested):
                cursor.execute(
                    sql.SQL(
                        "INSERT INTO {} (channel_id, peer_id, asset_code, chain_id, token_network,"
                        " our_address, partner_address, channel_key, state, updated_at, version)"
                        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                    ).format(self.table),
                    (
                        event.originator_id,
                        event.peer_id,
                        event.asset_code,
                        event.chain_id,
                        event.token_network,
                        event.our_address,
                        event.partner_address,
                        event.channel_key,
                        ChannelState.OPEN_REQUESTED.value,
                        event.timestamp,
                        event.originator_version,
                    ),
                )
                continue
            if isinstance(event, Channel.DepositObserved):
                cursor.execute(
                    sql.SQL(
                        "UPDATE {} SET our_deposit = CASE WHEN lower(our_address) = lower(%s)"
                        " THEN %s ELSE our_deposit END, partner_deposit = CASE WHEN"
                        " lower(our_address) = lower(%s) THEN partner_deposit ELSE %s END,"
                        " updated_at = %s, version = %s WHERE channel_id = %s"
                    ).format(self.table),
                    (
                        event.participant,
                        event.total_deposit,
                        event.participant,
                        event.total_deposit,
                        event.timestamp,
                        event.originator_version,
                        event.originator_id,
                    ),
                )
                continue
            assignments = _assignments(event)
            assignments["updated_at"] = event.timestamp
            assignments["version"] = event.originator_version
            statement = sql.SQL("UPDATE {} SET {} WHERE channel_id = %s").format(
                self.table,
                sql.SQL(", ").join(
                    sql.SQL("{} = %s").format(sql.Identifier(column)) for column in assignments
                ),
            )
            cursor.execute(statement, [*assignments.values(), event.originator_id])


def _assignments(event: Any) -> dict[str, Any]:
    if isinstance(event, Channel.Opened):
        return {"state": ChannelState.OPENED.value, "onchain_id": str(event.onchain_id)}
    if isinstance(event, Channel.OpenFailed):
        return {"state": ChannelState.FAILED.value}
    if isinstance(event, Channel.Abandoned):
        return {"abandoned": True}
    if isinstance(event, Channel.Closed):
        return {"state": ChannelState.CLOSED.value}
    if isinstance(event, Channel.Settled):
        return {"state": ChannelState.SETTLED.value}
    if isinstance(event, Channel.BalanceProofSigned):
        return {"our_nonce": event.nonce, "our_transferred": event.transferred_amount}
    if isinstance(event, Channel.PartnerBalanceProofAccepted):
        return {"partner_nonce": event.nonce, "partner_transferred": event.transferred_amount}
    return {}
