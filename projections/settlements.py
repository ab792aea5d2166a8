"""The settlements read model: status, attempts and timestamps; queried by status, peer, stuck."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql

from domain.settlement import Settlement, SettlementStatus
from projections.runner import PositionedEvent, Projection


class SettlementsProjection(Projection):
    name = "settlements"

    def __init__(self, schema: str = "public") -> None:
        self.table = sql.Identifier(schema, "settlements")

    def apply(self, cursor: psycopg.Cursor[Any], events: Sequence[PositionedEvent]) -> None:
        for positioned in events:
            event = positioned.event
            if not isinstance(event, Settlement.Event):
                continue
            if isinstance(event, Settlement.Requested):
                cursor.execute(
                    sql.SQL(
                        "INSERT INTO {} (settlement_id, account_id, peer_id, asset_code, amount,"
                        " status, requested_at, updated_at, version)"
                        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                    ).format(self.table),
                    (
                        event.originator_id,
                        event.account_id,
                        event.peer_id,
                        event.asset_code,
                        event.amount,
                        SettlementStatus.REQUESTED.value,
                        event.at,
                        event.at,
                        event.originator_version,
                    ),
                )
                continue
            assignments = _assignments(event)
            # Every Settlement event carries the time it happened (`at`).
            assignments["updated_at"] = getattr(event, "at")  # noqa: B009
            assignments["version"] = event.originator_version
            cursor.execute(
                sql.SQL("UPDATE {} SET {} WHERE settlement_id = %s").format(
                    self.table,
                    sql.SQL(", ").join(
                        sql.SQL("{} = %s").format(sql.Identifier(column)) for column in assignments
                    ),
                ),
                [*assignments.values(), event.originator_id],
            )


def _assignments(event: Any) -> dict[str, Any]:
    if isinstance(event, Settlement.ChannelReady):
        values: dict[str, Any] = {
            "status": SettlementStatus.CHANNEL_READY.value,
            "channel_id": event.channel_id,
        }
        if event.tx_hash:
            values["tx_hash"] = event.tx_hash
        return values
    if isinstance(event, Settlement.ProofSigned):
        return {"status": SettlementStatus.PROOF_SIGNED.value, "nonce": event.nonce}
    if isinstance(event, Settlement.Delivered):
        values = {"status": SettlementStatus.DELIVERED.value}
        if event.onchain_tx_hash:
            values["tx_hash"] = event.onchain_tx_hash
        return values
    if isinstance(event, Settlement.Applied):
        return {"status": SettlementStatus.APPLIED.value}
    if isinstance(event, Settlement.Completed):
        return {"status": SettlementStatus.COMPLETED.value, "completed_at": event.at}
    if isinstance(event, Settlement.AttemptFailed):
        return {
            "attempts": event.attempt,
            "last_error": f"{event.error_class}: {event.error}",
            "next_attempt_at": event.next_attempt_at,
        }
    if isinstance(event, Settlement.RailChosen):
        return {"rail": event.rail}
    if isinstance(event, Settlement.ChannelLost):
        return {
            "status": SettlementStatus.REQUESTED.value,
            "channel_id": None,
            "nonce": None,
            "last_error": event.reason,
        }
    if isinstance(event, Settlement.DeadLetterResolved):
        return {"resolution": event.resolution}
    if isinstance(event, Settlement.Failed):
        return {"status": SettlementStatus.FAILED.value, "last_error": event.reason}
    if isinstance(event, Settlement.TimedOut):
        return {"status": SettlementStatus.TIMED_OUT.value}
    if isinstance(event, Settlement.DeadLettered):
        return {"status": SettlementStatus.DEAD_LETTERED.value, "last_error": event.reason}
    return {}
