"""The application's read ports answered on the node's pool: chain cursors, channel lookups by
chain identity (any spelling of an address), and where the settlement executor finds work."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from adapters.postgres.chain_cursors import PostgresChainCursors
from application.channel_directory import ChannelDirectory
from bootstrap.node import Node, open_node
from bootstrap.settings import Settings
from domain.address import Address
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry
from projections.balances import BalancesProjection
from projections.channel_queries import ChannelQueries
from projections.channels import ChannelsProjection
from projections.settlement_queries import SettlementQueries
from projections.settlements import SettlementsProjection

USD = Asset("USD", 2)
T0 = datetime(2026, 1, 1, tzinfo=UTC)
NETWORK = "0xAbCdEf0123456789aBcDeF0123456789AbCdEf01"
PARTNER = "0x1111111111111111111111111111111111AbCdEf"
OURS = "0x2222222222222222222222222222222222aBcDeF"
OLDER_KEY = "0x3333333333333333333333333333333333333333"


@pytest.fixture
def node(database_url: str) -> Iterator[Node]:
    with open_node(Settings(database_url=database_url)) as n:
        yield n


def directory(node: Node) -> ChannelDirectory:
    runners = node.runner(ChannelsProjection()), node.runner(BalancesProjection())
    return ChannelDirectory(ChannelQueries(node.pool, *runners))


def insert_channel(node: Node, state: str, onchain_id: int | None, ours: str = OURS) -> None:
    """A channel row as the read model may hold it: addresses spelled as the events had them."""
    with node.pool.connection() as conn:
        conn.execute(
            "INSERT INTO channels (channel_id, peer_id, asset_code, chain_id, token_network,"
            " our_address, partner_address, onchain_id, channel_key, state, updated_at, version)"
            " VALUES (%s, 'bob', 'USD', 31337, %s, %s, %s, %s, %s, %s, %s, 1)",
            (uuid4(), NETWORK, ours, PARTNER, onchain_id, str(uuid4()), state, T0),
        )


def test_chain_cursors_start_empty_then_keep_the_last_saved_block(node: Node) -> None:
    cursors = PostgresChainCursors(node.pool)
    network = Address(NETWORK)
    assert cursors.next_block(31337, network) is None
    cursors.save(31337, network, 10)
    cursors.save(31337, network, 12)
    assert cursors.next_block(31337, network) == 12
    assert cursors.next_block(1, network) is None  # another chain has its own cursor


def test_channels_and_peers_are_found_whatever_the_address_spelling(node: Node) -> None:
    insert_channel(node, "closed", 7)
    insert_channel(node, "opened", 9)
    found = directory(node)
    for network, partner in ((NETWORK, PARTNER), (NETWORK.lower(), "0x" + PARTNER[2:].upper())):
        assert found.usable_channel(31337, network, partner, OURS.lower()) is not None
        assert found.generation(31337, network, partner) == 2
        assert found.by_onchain_id(31337, network, 9) == found.usable_channel(
            31337, network, partner, OURS
        )
    assert found.opening_channel(31337, NETWORK, PARTNER, OURS) is None
    assert len(found.closed_channels()) == 1 and len(found.all_channels()) == 2
    assert found.by_onchain_id(1, NETWORK, 9) is None

    assert found.peer_by_address(PARTNER) is None
    node.app.open_peer_account("bob", USD, 10_000, 0, 100)
    node.app.register_peer("bob", "USD", PARTNER.lower(), ["local"], "local", "http://127.0.0.1:9")
    assert found.peer_by_address(PARTNER) == ("bob", "USD", 2)


def test_a_channel_of_an_older_key_is_not_usable_for_new_payments(node: Node) -> None:
    insert_channel(node, "opened", 9, ours=OLDER_KEY)
    insert_channel(node, "open_requested", None, ours=OLDER_KEY)
    found = directory(node)
    assert found.usable_channel(31337, NETWORK, PARTNER, OURS) is None
    assert found.opening_channel(31337, NETWORK, PARTNER, OURS) is None
    assert found.usable_channel(31337, NETWORK, PARTNER, OLDER_KEY) is not None
    assert found.opening_channel(31337, NETWORK, PARTNER, OLDER_KEY) is not None
    # The older key's channels still count: the active key's first channel is the third.
    assert found.generation(31337, NETWORK, PARTNER) == 2


def test_settlement_work_is_due_stuck_or_payable_as_the_read_models_say(node: Node) -> None:
    work = SettlementQueries(node.pool, node.runner(SettlementsProjection()))
    account_id = node.app.open_peer_account("alice", USD, 10_000, 0, 100)
    node.app.record_packets("alice", "USD", "b1", [PacketEntry("p", Direction.OUTGOING, 50)])
    settlement_id = node.app.request_settlement("s1", account_id, 20, T0)
    assert work.due_settlements(T0) == [settlement_id]  # caught up by the search itself
    assert work.stuck_settlements(T0 + timedelta(minutes=10), timedelta(minutes=5)) == [
        settlement_id
    ]
    assert work.stuck_settlements(T0 + timedelta(minutes=10), timedelta(minutes=15)) == []
    node.catch_up_read_models()
    assert work.payable_accounts() == [account_id]
