"""The chain rails this node settles on, found by name, by channel, or by chain and contract.

A `ChainRail` is one token network on one chain with our key's clients for it (ports the EVM
adapter implements). The coordinator in this package scores rails by name; this registry is
where a name, a channel or a (chain id, token network) pair becomes the rail's clients.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
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


class RailRegistry(Mapping[str, ChainRail]):
    """The configured rails by name (a read-only mapping) with the two other lookups."""

    def __init__(self, rails: Mapping[str, ChainRail]) -> None:
        self._rails = dict(rails)

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
        return self.serving(channel.chain_id, channel.token_network)
