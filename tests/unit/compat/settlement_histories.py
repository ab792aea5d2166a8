"""Settlement histories that use every event type, for the fixture `settlement.json`.

Run as a script (`python -m tests.unit.compat.settlement_histories`) only to write the fixture
from the code as it is, before a change that must keep stored events readable; the compatibility
test replays the committed fixture, and runs these histories again to compare what is written.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from application.store import AggregateStore
from domain.peer_account import PeerAccount
from domain.settlement import Settlement
from tests.unit.compat.recording import make_fixture, record_history, write_fixture

FIXTURE = Path(__file__).with_name("settlement.json")

T0 = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
ACCOUNT = PeerAccount.create_id("alice", "USD")
CHANNEL, OTHER_CHANNEL, RETRY = UUID(int=11), UUID(int=12), UUID(int=13)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def request(store: AggregateStore, key: str) -> Settlement:
    settlement = Settlement.request(key, ACCOUNT, "alice", "USD", 900, at(0))
    store.save(settlement)
    return settlement


def completed(store: AggregateStore) -> UUID:
    """A rail chosen, a channel lost after its proof, a failed attempt, then the happy path."""
    s = request(store, "completed")
    s.choose_rail("evm:1:tn", {"scores": {"evm:1:tn": 1.5, "evm:2:tn": 0.5}}, at(1))
    s.channel_ready(CHANNEL, "0xopen", at(2))
    s.proof_signed(1, 900, "0xsig1", at(3))
    s.channel_lost("channel closed", at(4))
    s.channel_ready(OTHER_CHANNEL, None, at(5))
    s.attempt_failed("PeerUnreachable", "timed out", True, at(7), at(6))
    s.proof_signed(2, 1800, "0xsig2", at(7))
    s.delivered("receipt-1", at(8), onchain_tx_hash="0xcoop")
    s.applied(at(9))
    s.complete(at(10))
    store.save(s)
    return s.id


def failed(store: AggregateStore) -> UUID:
    s = request(store, "failed")
    s.attempt_failed("RailDown", "no rail", False, None, at(1))
    s.fail("gave up", at(2), error_class="RailDown", alert=True)
    store.save(s)
    return s.id


def timed_out(store: AggregateStore) -> UUID:
    s = request(store, "timed out")
    s.channel_ready(CHANNEL, "0xopen", at(1))
    s.time_out(at(30))
    store.save(s)
    return s.id


def redelivered(store: AggregateStore) -> UUID:
    s = request(store, "redelivered")
    s.channel_ready(CHANNEL, None, at(1))
    s.proof_signed(3, 2700, "0xsig3", at(2))
    s.dead_letter("peer keeps refusing", at(3))
    s.resolve_dead_letter("redelivered", RETRY, at(4))
    store.save(s)
    return s.id


def discarded(store: AggregateStore) -> UUID:
    s = request(store, "discarded")
    s.dead_letter("no route", at(1))
    s.resolve_dead_letter("discarded", None, at(2))
    store.save(s)
    return s.id


def scenarios(store: AggregateStore) -> list[dict[str, Any]]:
    return [
        record_history(store, "completed", completed(store), snapshot_at=5),
        record_history(store, "failed", failed(store)),
        record_history(store, "timed out", timed_out(store), snapshot_at=2),
        record_history(store, "redelivered", redelivered(store), snapshot_at=3),
        record_history(store, "discarded", discarded(store)),
    ]


def fixture() -> dict[str, Any]:
    return make_fixture(Settlement, scenarios)


if __name__ == "__main__":
    write_fixture(FIXTURE, fixture())
