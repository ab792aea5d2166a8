"""PeerAccount still reads and writes the stored events recorded in `peer_account.json`.

The fixture was written by the code before PeerAccount was split into mixins; a changed topic,
field or state makes these tests fail. Four changes are deliberate (issue 14): the state no
longer keeps recorded batches nor received claim ids and fingerprints (`DROPPED_STATE`; old
snapshots are upcast), it keeps only open settlements with a count of all
(`_open_settlements_only`), and `PacketsRecorded` gained the optional `made_at`
(`ADDED_OPTIONAL`; None for a batch recorded without one).
"""

from typing import Any

import pytest

from domain.peer_account import PeerAccount
from tests.unit.compat import peer_account_histories
from tests.unit.compat.recording import (
    event_topics,
    load_fixture,
    replay,
    stored_state,
    without_time,
)

FIXTURE = load_fixture(peer_account_histories.FIXTURE)
HISTORIES = {history["name"]: history for history in FIXTURE["histories"]}

DROPPED_STATE = {"batches", "claims_received", "claim_fingerprints"}
ADDED_OPTIONAL = {"made_at"}


def _now(states: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The recorded states as the current code keeps them."""
    return [
        _open_settlements_only({k: v for k, v in state.items() if k not in DROPPED_STATE})
        for state in states
    ]


def _open_settlements_only(state: dict[str, Any]) -> dict[str, Any]:
    """Every settlement ever reserved was kept; now the applied and released ones are only
    counted."""
    settlements = state["settlements"]
    finished = ("applied", "released")
    return {
        **state,
        "settlements": {k: v for k, v in settlements.items() if v[1] not in finished},
        "settlements_started": len(settlements),
    }


def _unset_added(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events written now, without the optional fields added since the fixture, when unset."""
    return [
        {
            **e,
            "state": {
                k: v for k, v in e["state"].items() if not (k in ADDED_OPTIONAL and v is None)
            },
        }
        for e in events
    ]


# Events added after the fixture was recorded: new topics are fine, a lost or renamed one is not.
ADDED_SINCE_THE_FIXTURE = {"domain.peer_account:PeerAccount.ClaimRefused"}


def test_the_event_topics_are_the_recorded_ones() -> None:
    assert event_topics(PeerAccount) == set(FIXTURE["topics"]) | ADDED_SINCE_THE_FIXTURE


@pytest.mark.parametrize("with_snapshots", [False, True], ids=["events", "snapshot"])
@pytest.mark.parametrize("name", sorted(HISTORIES))
def test_a_recorded_history_rebuilds_the_recorded_state(name: str, with_snapshots: bool) -> None:
    history = HISTORIES[name]
    store, versions = replay(history, with_snapshots=with_snapshots)
    assert all(isinstance(account, PeerAccount) for account in versions)
    assert [stored_state(store, account) for account in versions] == _now(history["states"])
    assert all(isinstance(e, PeerAccount.Event) for e in store.events.get(versions[-1].id))


def test_events_stored_before_optional_fields_existed_still_replay() -> None:
    history = HISTORIES["every event"]
    older = {
        **history,
        "events": [
            {**e, "state": {k: v for k, v in e["state"].items() if v != "" or k not in OPTIONAL}}
            for e in history["events"]
        ],
    }
    assert older["events"] != history["events"]
    store, versions = replay(older, with_snapshots=False)
    assert [stored_state(store, account) for account in versions] == _now(history["states"])


OPTIONAL = {"fingerprint", "resumed_by"}


def _no_clock(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k not in ("_created_on", "_modified_on")}


def test_the_same_commands_write_the_recorded_events_again() -> None:
    again = {history["name"]: history for history in peer_account_histories.fixture()["histories"]}
    assert again.keys() == HISTORIES.keys()
    for name, history in HISTORIES.items():
        assert without_time(_unset_added(again[name]["events"])) == without_time(history["events"])
        assert [_no_clock(s) for s in again[name]["states"]] == [
            _no_clock(s) for s in _now(history["states"])
        ]
