"""PeerAccount histories that use every event type, for the fixture `peer_account.json`.

Run as a script (`python -m tests.unit.compat.peer_account_histories`) only to write the fixture
from the code as it is, before a change that must keep stored events readable; the compatibility
test replays the committed fixture, and runs these histories again to compare what is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

from application.store import AggregateStore
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry, PeerAccount
from tests.unit.compat.recording import make_fixture, record_history, write_fixture

FIXTURE = Path(__file__).with_name("peer_account.json")

OUT, IN = Direction.OUTGOING, Direction.INCOMING
FIRST, SECOND = UUID(int=1), UUID(int=2)


def every_event(store: AggregateStore) -> UUID:
    """Packets, a threshold crossing, settlements applied and released, claims received with and
    without a fingerprint, registration, pauses (by hand and by a fraud rule) and limits."""
    account = PeerAccount.open("alice", Asset("USD", 2), 1000, 100, 5000)
    account.record_packets("b1", [PacketEntry("p1", OUT, 1200), PacketEntry("p2", IN, 300)])
    account.reserve(FIRST, 1100)
    account.promise(FIRST)
    account.apply(FIRST)
    account.record_packets("b2", [PacketEntry("p3", OUT, 500)])
    account.reserve(SECOND, 200)
    account.release(SECOND)
    store.save(account)
    account.receive_settlement("claim-1", 100, fingerprint="fp:claim-1")
    account.receive_settlement("claim-0", 50)
    account.register("0x" + "ab" * 20, ["evm:1:tn", "evm:2:tn"], "evm:2:tn", "https://b/claims")
    account.pause("maintenance")
    account.resume("ops")
    account.suspect_fraud("f1", "velocity", {"packets": 3, "window_s": 60}, pause=False)
    account.suspect_fraud("f2", "burst", {"amount": 9}, pause=True)
    account.resume()
    account.change_threshold(2000, 500)
    account.change_credit_limit(9000)
    store.save(account)
    return account.id


def scenarios(store: AggregateStore) -> list[dict[str, Any]]:
    return [record_history(store, "every event", every_event(store), snapshot_at=9)]


def fixture() -> dict[str, Any]:
    return make_fixture(PeerAccount, scenarios)


if __name__ == "__main__":
    write_fixture(FIXTURE, fixture())
