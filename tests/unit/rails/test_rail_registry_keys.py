"""The rail registry with several keys: a channel's rail is its own key's, new work the active
key's, and a channel whose key is not loaded is refused by name rather than signed wrongly."""

from __future__ import annotations

import threading
from typing import cast

import pytest

from application.chain_ports import TokenNetworkPort, TokenPort, TransactionPort
from application.rails.errors import UnknownRail
from application.rails.registry import ChainRail, ChannelKeyNotLoaded, RailRegistry
from domain.channel import Channel

NETWORK = "0x" + "ab" * 20
OLD, ACTIVE, ABSENT = "0x" + "01" * 20, "0x" + "02" * 20, "0x" + "03" * 20
PARTNER = "0x" + "0f" * 20


class Network:
    def __init__(self, our_address: str) -> None:
        self.address = NETWORK
        self.our_address = our_address


def rail(our_address: str, chain_id: int = 1) -> ChainRail:
    network = cast(TokenNetworkPort, Network(our_address))
    return ChainRail(
        "r",
        chain_id,
        network,
        cast(TokenPort, None),
        cast(TransactionPort, None),
        6,
        600,
        threading.RLock(),
    )


def channel(our_address: str, chain_id: int = 1) -> Channel:
    return Channel.request_open(
        f"{our_address}:{chain_id}", "bob", "USD", chain_id, NETWORK, our_address, PARTNER, 600
    )


def test_a_channel_gets_its_own_keys_rail_and_names_the_active_keys() -> None:
    old, active = rail(OLD), rail(ACTIVE)
    registry = RailRegistry({"r": active}, [{"r": old}])
    assert registry["r"] is active and registry.serving(1, NETWORK) is active
    assert registry.of_channel(channel(OLD)) is old
    assert registry.of_channel(channel(ACTIVE.upper().replace("0X", "0x"))) is active
    assert list(registry) == ["r"] and registry.all_rails() == [old, active]


def test_a_channel_of_a_key_not_loaded_is_refused_naming_channel_and_key() -> None:
    registry = RailRegistry({"r": rail(ACTIVE)})
    unknown = channel(ABSENT)
    with pytest.raises(ChannelKeyNotLoaded, match=str(unknown.id)) as refused:
        registry.of_channel(unknown)
    assert ABSENT in str(refused.value)
    with pytest.raises(UnknownRail):
        registry.of_channel(channel(ACTIVE, chain_id=2))  # the key is loaded, the rail is not
