"""Finding channels and peers by their on-chain identity, through a port onto the read models.

`ChannelLookup` is what the application needs to read (projections/channel_queries.py answers it
from the channels and balances read models, caught up first, so what was recorded a moment ago is
found). `ChannelDirectory` puts addresses in their one normal form before asking, so the read
side never compares spellings.
"""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from domain.address import Address


class ChannelLookup(Protocol):
    """Channel and peer lookups on the read models; addresses come in `Address` normal form."""

    def usable_channel(
        self, chain_id: int, token_network: Address, partner: Address, our_address: Address
    ) -> UUID | None: ...

    def channel_count(self, chain_id: int, token_network: Address, partner: Address) -> int: ...

    def by_onchain_id(
        self, chain_id: int, token_network: Address, onchain_id: int
    ) -> UUID | None: ...

    def opening_channel(
        self, chain_id: int, token_network: Address, partner: Address, our_address: Address
    ) -> UUID | None: ...

    def closed_channels(self) -> list[UUID]: ...

    def all_channels(self) -> list[UUID]: ...

    def peer_by_address(self, address: Address) -> tuple[str, str, int] | None: ...


class ChannelDirectory:
    def __init__(self, lookup: ChannelLookup) -> None:
        self.lookup = lookup

    def usable_channel(
        self, chain_id: int, token_network: str, partner: str, our_address: str
    ) -> UUID | None:
        """Our channel with `partner` on this rail, opened with our key `our_address`, that is
        being opened or is open, if any. After a key rotation the channels of the older key are
        not usable for new payments: their key only closes and settles them (the contract
        allows one channel per pair of addresses, so the new key's channel is a new pair)."""
        return self.lookup.usable_channel(
            chain_id,
            Address(token_network, "token_network"),
            Address(partner, "partner"),
            Address(our_address, "our_address"),
        )

    def generation(self, chain_id: int, token_network: str, partner: str) -> int:
        """How many channels we ever had with `partner` on this rail (keys the next one)."""
        return self.lookup.channel_count(
            chain_id, Address(token_network, "token_network"), Address(partner, "partner")
        )

    def by_onchain_id(self, chain_id: int, token_network: str, onchain_id: int) -> UUID | None:
        return self.lookup.by_onchain_id(
            chain_id, Address(token_network, "token_network"), onchain_id
        )

    def opening_channel(
        self, chain_id: int, token_network: str, partner: str, our_address: str
    ) -> UUID | None:
        """Our channel with `partner`, requested with key `our_address`, still waiting for its
        open to be seen on chain."""
        return self.lookup.opening_channel(
            chain_id,
            Address(token_network, "token_network"),
            Address(partner, "partner"),
            Address(our_address, "our_address"),
        )

    def closed_channels(self) -> list[UUID]:
        """Channels closed on chain and not yet settled: in (or past) their challenge period."""
        return self.lookup.closed_channels()

    def all_channels(self) -> list[UUID]:
        return self.lookup.all_channels()

    def peer_by_address(self, address: str) -> tuple[str, str, int] | None:
        """(peer id, asset code, asset scale) of the peer registered with this address."""
        return self.lookup.peer_by_address(Address(address))
