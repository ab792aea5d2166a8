"""Finding channels and peers by their on-chain identity, through the read models.

Callers catch the read models up first, so what was recorded a moment ago is found.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg

from projections.runner import ProjectionRunner


class ChannelDirectory:
    def __init__(
        self, database_url: str, channels: ProjectionRunner, balances: ProjectionRunner
    ) -> None:
        self.database_url = database_url
        self.channels = channels
        self.balances = balances

    def _one(self, query: str, params: tuple[Any, ...]) -> Any:
        with psycopg.connect(self.database_url) as conn:
            row = conn.execute(query, params).fetchone()
        return None if row is None else row[0]

    def usable_channel(self, chain_id: int, token_network: str, partner: str) -> UUID | None:
        """Our channel with `partner` on this rail that is being opened or is open, if any."""
        self.channels.catch_up()
        result: UUID | None = self._one(
            "SELECT channel_id FROM channels WHERE chain_id = %s AND lower(token_network) ="
            " lower(%s) AND lower(partner_address) = lower(%s) AND NOT abandoned"
            " AND state IN ('open_requested', 'opened') ORDER BY updated_at DESC LIMIT 1",
            (chain_id, token_network, partner),
        )
        return result

    def generation(self, chain_id: int, token_network: str, partner: str) -> int:
        """How many channels we ever had with `partner` on this rail (keys the next one)."""
        self.channels.catch_up()
        count: int = self._one(
            "SELECT count(*) FROM channels WHERE chain_id = %s AND lower(token_network) ="
            " lower(%s) AND lower(partner_address) = lower(%s)",
            (chain_id, token_network, partner),
        )
        return count

    def by_onchain_id(self, chain_id: int, token_network: str, onchain_id: int) -> UUID | None:
        self.channels.catch_up()
        result: UUID | None = self._one(
            "SELECT channel_id FROM channels WHERE chain_id = %s AND lower(token_network) ="
            " lower(%s) AND onchain_id = %s",
            (chain_id, token_network, str(onchain_id)),
        )
        return result

    def opening_channel(self, chain_id: int, token_network: str, partner: str) -> UUID | None:
        """Our channel with `partner` still waiting for its open to be seen on chain."""
        self.channels.catch_up()
        result: UUID | None = self._one(
            "SELECT channel_id FROM channels WHERE chain_id = %s AND lower(token_network) ="
            " lower(%s) AND lower(partner_address) = lower(%s) AND state = 'open_requested'"
            " ORDER BY updated_at LIMIT 1",
            (chain_id, token_network, partner),
        )
        return result

    def closed_channels(self) -> list[UUID]:
        """Channels closed on chain and not yet settled: in (or past) their challenge period."""
        self.channels.catch_up()
        with psycopg.connect(self.database_url) as conn:
            rows = conn.execute(
                "SELECT channel_id FROM channels WHERE state = 'closed' ORDER BY updated_at"
            ).fetchall()
        return [row[0] for row in rows]

    def all_channels(self) -> list[UUID]:
        self.channels.catch_up()
        with psycopg.connect(self.database_url) as conn:
            rows = conn.execute("SELECT channel_id FROM channels ORDER BY updated_at").fetchall()
        return [row[0] for row in rows]

    def peer_by_address(self, address: str) -> tuple[str, str, int] | None:
        """(peer id, asset code, asset scale) of the peer registered with this address."""
        self.balances.catch_up()
        with psycopg.connect(self.database_url) as conn:
            row = conn.execute(
                "SELECT peer_id, asset_code, asset_scale FROM balances"
                " WHERE lower(peer_address) = lower(%s) ORDER BY peer_id LIMIT 1",
                (address,),
            ).fetchone()
        return None if row is None else (row[0], row[1], int(row[2]))
