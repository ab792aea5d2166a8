"""The channels whose keys a node must have to start: every channel not yet settled, with the
address it signs with, from the channels read model."""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row

from application.keys import ChannelKeyNeed
from domain.address import Address

_OPEN_CHANNELS = (
    "SELECT channel_id, peer_id, our_address, state FROM channels"
    " WHERE state IN ('open_requested', 'opened', 'closed') AND NOT abandoned"
    " ORDER BY channel_id"
)


def channels_needing_keys(pool: Any) -> list[ChannelKeyNeed]:
    """Every channel still open, with the address it signs with (from the channels read model,
    which the caller catches up first)."""
    with pool.connection() as connection, connection.cursor(row_factory=dict_row) as cursor:
        rows = cursor.execute(_OPEN_CHANNELS).fetchall()
    return [
        ChannelKeyNeed(
            str(row["channel_id"]),
            row["peer_id"],
            Address(row["our_address"], "our_address"),
            row["state"],
        )
        for row in rows
    ]
