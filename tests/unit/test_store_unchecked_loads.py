"""A save's first run takes cached aggregates unchecked; when that run is thrown away, nothing
it changed may survive in the cache for the run on checked state to pick up."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from application.app import SettlementApp
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry, PeerAccount

AT = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def app() -> Iterator[SettlementApp]:
    ledger = SettlementApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield ledger
    ledger.close()


def test_a_rerun_never_sees_the_thrown_away_runs_changes(app: SettlementApp) -> None:
    account_id = app.open_peer_account("bob", Asset("USD", 2), 1000, 100, 10**6)
    app.record_packets("bob", "USD", "b1", [PacketEntry("p1", Direction.OUTGOING, 1500)])
    sid = app.request_settlement("s1", account_id, 1400, AT)
    app.reserve_settlement(sid)
    app.choose_settlement_rail(sid, "rail-a", {}, AT)
    app.load(account_id, PeerAccount)  # the account in the cache: taken unchecked, unchanged
    app._evict(sid)  # the settlement not: loaded from the store, then changed by the first run

    app.record_ready_on_rail(sid, account_id, None, uuid.uuid4(), None, AT)

    kinds = [type(e).__name__ for e in app.history(sid)]
    assert kinds.count("ChannelReady") == 1
    assert app.settlement(sid).version == len(kinds)
