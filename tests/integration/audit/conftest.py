"""Shared by the audit tests: a node on a fresh database, some recorded activity, the chain."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from application.app import SettlementApp
from bootstrap.node import Node, open_node
from bootstrap.settings import Settings
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry
from projections.event_chain import EventChainProjection

USD = Asset("USD", 2)


@pytest.fixture
def node(database_url: str) -> Iterator[Node]:
    with open_node(Settings(database_url=database_url)) as n:
        yield n


Record = Callable[..., None]
Chain = Callable[[Node], int]


def record_activity(app: SettlementApp, peer: str, batches: int, tag: str = "") -> None:
    """Opens the peer's account (once), records packet batches and requests one settlement."""
    account_id = app.open_peer_account(peer, USD, 10**9, 0, 10**9)
    for b in range(batches):
        entries = [
            PacketEntry(f"{peer}{tag}{b}-out", Direction.OUTGOING, 10 + b),
            PacketEntry(f"{peer}{tag}{b}-in", Direction.INCOMING, 3),
        ]
        app.record_packets(peer, "USD", f"{peer}{tag}-b{b}", entries)
    settlement_id = app.request_settlement(f"{peer}{tag}-settle", account_id, 5, datetime.now(UTC))
    app.reserve_settlement(settlement_id)


def chain(node: Node) -> int:
    """Brings the event chain up to the head; returns how many events were chained."""
    return node.runner(EventChainProjection()).catch_up()


@pytest.fixture
def record() -> Record:
    """record(app, peer, batches, tag=""): see record_activity."""
    return record_activity


@pytest.fixture
def chain_up() -> Chain:
    return chain
