"""The chain rails this node settles on, found by name, by channel, or by chain and contract.

A `ChainRail` is one token network on one chain with one key's clients for it (ports the EVM
adapter implements). The coordinator in this package scores rails by name; this registry is
where a name, a channel or a (chain id, token network) pair becomes the rail's clients.

A node may hold several keys (a key ring rotated while channels were open): each key has its own
clients for every rail, since a channel's balance proofs and transactions must come from the
key that opened it (the contract checks the participant). Lookups by name or by chain and
contract answer for the active key, the one new channels are opened with; a channel's rail is
the one of its own `our_address`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from application.chain_ports import TokenNetworkPort, TokenPort, TransactionPort
from application.rails.errors import UnknownRail
from domain.address import Address
from domain.channel import Channel


@dataclass
class ChainRail:
    """One way to settle: a token network on a chain, and our key's clients for it."""

    name: str
    chain_id: int
    network: TokenNetworkPort
    token: TokenPort
    transactions: TransactionPort
    token_decimals: int
    settle_timeout: int
    lock: threading.RLock  # one key's transactions that must not interleave (approve, deposit)
    sequential: bool = False  # one transaction at a time (a chain with no mempool: eth-tester)

    @property
    def token_network(self) -> str:
        return str(self.network.address)

    def serves(self, chain_id: int, token_network: str) -> bool:
        return self.chain_id == chain_id and Address(self.token_network) == Address(
            token_network, "token_network"
        )


class ChannelKeyNotLoaded(UnknownRail):
    """The channel was opened with a key this node has not loaded: nothing can be signed on it."""

    retryable = False
    alert = True

    def __init__(self, channel: Channel) -> None:
        self.channel_id = channel.id
        self.our_address = channel.our_address
        super().__init__(
            f"channel {channel.id} was opened with key {channel.our_address},"
            " which is not loaded on this node"
        )


class RailRegistry(Mapping[str, ChainRail]):
    """The active key's rails by name (a read-only mapping), and every loaded key's rails for
    the channels opened with it."""

    def __init__(
        self, rails: Mapping[str, ChainRail], older_keys: Iterable[Mapping[str, ChainRail]] = ()
    ) -> None:
        self._rails = dict(rails)
        self._by_key: dict[Address, list[ChainRail]] = {}
        for keyed in (*older_keys, rails):
            for rail in keyed.values():
                key = Address(str(rail.network.our_address), "our_address")
                self._by_key.setdefault(key, []).append(rail)

    @property
    def our_address(self) -> Address | None:
        """The active key's address (new channels are opened with it); None without rails."""
        for rail in self._rails.values():
            return Address(str(rail.network.our_address), "our_address")
        return None

    def key_addresses(self) -> list[Address]:
        return sorted(self._by_key)

    def all_rails(self) -> list[ChainRail]:
        """Every key's rails (the active key's among them)."""
        return [rail for rails in self._by_key.values() for rail in rails]

    def __getitem__(self, name: str) -> ChainRail:
        try:
            return self._rails[name]
        except KeyError:
            raise UnknownRail(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._rails)

    def __len__(self) -> int:
        return len(self._rails)

    def named(self, name: str) -> ChainRail:
        return self[name]

    def serving(self, chain_id: int, token_network: str) -> ChainRail:
        """The rail of this chain and token network; UnknownRail if none is configured."""
        for rail in self._rails.values():
            if rail.serves(chain_id, token_network):
                return rail
        raise UnknownRail(f"{chain_id}:{token_network}")

    def of_channel(self, channel: Channel) -> ChainRail:
        """The rail of the channel's chain and token network with the key that opened it;
        ChannelKeyNotLoaded if that key is not loaded, UnknownRail if no rail serves it."""
        keyed = self._by_key.get(Address(channel.our_address, "our_address"))
        if keyed is None:
            raise ChannelKeyNotLoaded(channel)
        for rail in keyed:
            if rail.serves(channel.chain_id, channel.token_network):
                return rail
        raise UnknownRail(f"{channel.chain_id}:{channel.token_network}")
