"""Settlement still reads and writes the stored events recorded in `settlement.json`.

The fixture was written by the code before Settlement was split into mixins; a changed topic,
field or state makes these tests fail.
"""

from typing import Any

import pytest

from domain.settlement import Settlement
from tests.unit.compat import settlement_histories
from tests.unit.compat.recording import (
    event_topics,
    load_fixture,
    replay,
    stored_state,
    without_time,
)

FIXTURE = load_fixture(settlement_histories.FIXTURE)
HISTORIES = {history["name"]: history for history in FIXTURE["histories"]}


def test_the_event_topics_are_the_recorded_ones() -> None:
    assert event_topics(Settlement) == set(FIXTURE["topics"])


@pytest.mark.parametrize("with_snapshots", [False, True], ids=["events", "snapshot"])
@pytest.mark.parametrize("name", sorted(HISTORIES))
def test_a_recorded_history_rebuilds_the_recorded_state(name: str, with_snapshots: bool) -> None:
    history = HISTORIES[name]
    store, versions = replay(history, with_snapshots=with_snapshots)
    assert all(isinstance(settlement, Settlement) for settlement in versions)
    assert [stored_state(store, settlement) for settlement in versions] == history["states"]
    assert all(isinstance(e, Settlement.Event) for e in store.events.get(versions[-1].id))


def test_a_history_naming_the_applied_step_ledger_posted_still_replays() -> None:
    history = HISTORIES["completed"]
    renamed = {"domain.settlement:Settlement.Applied": "domain.settlement:Settlement.LedgerPosted"}
    store, versions = replay(history, with_snapshots=False, rename=renamed)
    assert [stored_state(store, settlement) for settlement in versions] == history["states"]


def _no_clock(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k not in ("_created_on", "_modified_on")}


def test_the_same_commands_write_the_recorded_events_again() -> None:
    again = {history["name"]: history for history in settlement_histories.fixture()["histories"]}
    assert again.keys() == HISTORIES.keys()
    for name, history in HISTORIES.items():
        assert without_time(again[name]["events"]) == without_time(history["events"])
        assert [_no_clock(s) for s in again[name]["states"]] == [
            _no_clock(s) for s in history["states"]
        ]
