"""The channel directory's reads (application.channel_directory.ChannelLookup), on the pool.

Each lookup first catches its read model up, so a channel or peer recorded a moment ago is found.
Addresses arrive in `Address` normal form (lower case); the stored column is lower-cased too, as
the read model keeps addresses as the events spelled them.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg.rows import tuple_row
from psycopg_pool import ConnectionPool

from domain.address import Address
from projections.runner import ProjectionRunner

_RAIL_PARTNER = "chain_id = %s AND lower(token_network) = %s AND lower(partner_address) = %s"


class ChannelQueries:
    def __init__(
        self, pool: ConnectionPool[Any], channels: ProjectionRunner, balances: ProjectionRunner
    ) -> None:
        self._pool = pool
        self._channels = channels
        self._balances = balances

    def _fetch(self, query: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cursor:
            cursor.execute(query, params)
            rows: list[tuple[Any, ...]] = cursor.fetchall()
            return rows

    def _first(self, query: str, params: tuple[Any, ...]) -> Any:
        rows = self._fetch(query, params)
        return rows[0][0] if rows else None

    def usable_channel(
        self, chain_id: int, token_network: Address, partner: Address, our_address: Address
    ) -> UUID | None:
        self._channels.catch_up()
        result: UUID | None = self._first(
            f"SELECT channel_id FROM channels WHERE {_RAIL_PARTNER}"  # nosec B608 - constants
            " AND lower(our_address) = %s"
            " AND NOT abandoned AND state IN ('open_requested', 'opened')"
            " ORDER BY updated_at DESC LIMIT 1",
            (chain_id, token_network, partner, our_address),
        )
        return result

    def channel_count(self, chain_id: int, token_network: Address, partner: Address) -> int:
        self._channels.catch_up()
        count = self._first(
            f"SELECT count(*) FROM channels WHERE {_RAIL_PARTNER}",  # nosec B608 - constants
            (chain_id, token_network, partner),
        )
        return int(count)

    def by_onchain_id(self, chain_id: int, token_network: Address, onchain_id: int) -> UUID | None:
        self._channels.catch_up()
        result: UUID | None = self._first(
            "SELECT channel_id FROM channels WHERE chain_id = %s AND lower(token_network) = %s"
            " AND onchain_id = %s",
            (chain_id, token_network, str(onchain_id)),
        )
        return result

    def opening_channel(
        self, chain_id: int, token_network: Address, partner: Address, our_address: Address
    ) -> UUID | None:
        self._channels.catch_up()
        result: UUID | None = self._first(
            f"SELECT channel_id FROM channels WHERE {_RAIL_PARTNER}"  # nosec B608 - constants
            " AND lower(our_address) = %s"
            " AND state = 'open_requested' ORDER BY updated_at LIMIT 1",
            (chain_id, token_network, partner, our_address),
        )
        return result

    def closed_channels(self) -> list[UUID]:
        self._channels.catch_up()
        rows = self._fetch(
            "SELECT channel_id FROM channels WHERE state = 'closed' ORDER BY updated_at", ()
        )
        return [row[0] for row in rows]

    def all_channels(self) -> list[UUID]:
        self._channels.catch_up()
        rows = self._fetch("SELECT channel_id FROM channels ORDER BY updated_at", ())
        return [row[0] for row in rows]

    def peer_by_address(self, address: Address) -> tuple[str, str, int] | None:
        self._balances.catch_up()
        rows = self._fetch(
            "SELECT peer_id, asset_code, asset_scale FROM balances"
            " WHERE lower(peer_address) = %s ORDER BY peer_id LIMIT 1",
            (address,),
        )
        return (rows[0][0], rows[0][1], int(rows[0][2])) if rows else None
