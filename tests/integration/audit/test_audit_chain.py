"""The event chain: a clean log verifies; each kind of tampering is reported at its position."""

from __future__ import annotations

import json
from collections.abc import Callable

import psycopg
import pytest

from bootstrap.node import Node
from entrypoints.cli import main
from projections.audit_verify import VerifyReport, verify_chain
from projections.event_chain import GENESIS, chain_hash, event_hash

Chain = Callable[[Node], int]
Record = Callable[..., None]


EVENTS = "settlementledger_events"


def verify(url: str, start: int = 1) -> VerifyReport:
    with psycopg.connect(url) as conn:
        return verify_chain(conn, start)


def tamper(url: str, *statements: str) -> None:
    """Runs statements with the append-only triggers off, as someone with owner rights could."""
    with psycopg.connect(url) as conn:
        conn.execute(f"ALTER TABLE {EVENTS} DISABLE TRIGGER USER")
        conn.execute("ALTER TABLE audit_event_chain DISABLE TRIGGER USER")
        for statement in statements:
            conn.execute(statement)
        conn.execute(f"ALTER TABLE {EVENTS} ENABLE TRIGGER USER")
        conn.execute("ALTER TABLE audit_event_chain ENABLE TRIGGER USER")


@pytest.fixture
def chained(node: Node, record: Record, chain_up: Chain) -> Node:
    record(node.app, "alice", 6)
    record(node.app, "bob", 4)
    assert chain_up(node) == 16
    return node


def test_a_clean_log_verifies_and_the_head_is_the_chain_of_every_event(chained: Node) -> None:
    report = verify(chained.database_url)
    assert report.clean and report.checked == 16 and report.unchained == 0
    with psycopg.connect(chained.database_url) as conn:
        rows = conn.execute(
            f"SELECT notification_id, originator_id, originator_version, topic, state FROM {EVENTS}"
            " ORDER BY notification_id"
        ).fetchall()
    head = GENESIS
    for row in rows:
        head = chain_hash(head, event_hash(row[0], row[1], row[2], row[3], bytes(row[4])))
    assert (report.head.position, report.head.chain_hash) == (16, head)


def test_update_and_delete_are_refused_without_disabling_the_trigger(chained: Node) -> None:
    with psycopg.connect(chained.database_url) as conn:
        for statement in (
            f"UPDATE {EVENTS} SET state = 'x' WHERE notification_id = 3",
            f"DELETE FROM {EVENTS} WHERE notification_id = 3",
            f"TRUNCATE {EVENTS}",
            "UPDATE audit_event_chain SET event_hash = 'x' WHERE position = 3",
            "DELETE FROM audit_event_chain WHERE position = 3",
        ):
            refused = pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only")
            with refused, conn.transaction():
                conn.execute(statement)
    assert verify(chained.database_url).clean


def test_an_edited_event_is_reported_at_its_position(chained: Node) -> None:
    tamper(
        chained.database_url,
        f"UPDATE {EVENTS} SET state = state || ' '::bytea WHERE notification_id = 5",
    )
    broken = verify(chained.database_url).broken
    assert broken is not None and (broken.position, broken.kind) == (5, "edited")


def test_a_deleted_event_is_reported_at_its_position(chained: Node) -> None:
    tamper(chained.database_url, f"DELETE FROM {EVENTS} WHERE notification_id = 7")
    broken = verify(chained.database_url).broken
    assert broken is not None and (broken.position, broken.kind) == (7, "deleted")


def test_two_events_swapped_are_reported_as_reordered(chained: Node) -> None:
    tamper(
        chained.database_url,
        f"UPDATE {EVENTS} SET notification_id = -1 WHERE notification_id = 4",
        f"UPDATE {EVENTS} SET notification_id = 4 WHERE notification_id = 9",
        f"UPDATE {EVENTS} SET notification_id = 9 WHERE notification_id = -1",
    )
    broken = verify(chained.database_url).broken
    assert broken is not None and (broken.position, broken.kind) == (4, "reordered")
    assert "position 9" in broken.detail


def test_an_event_inserted_into_a_gap_is_reported_while_the_gap_itself_is_not(
    node: Node, record: Record, chain_up: Chain
) -> None:
    record(node.app, "alice", 3)
    # A rolled-back insert leaves a gap in the positions.
    with psycopg.connect(node.database_url) as conn, conn.transaction(force_rollback=True):
        row = conn.execute(
            f"INSERT INTO {EVENTS} (originator_id, originator_version, topic, state)"
            " VALUES (gen_random_uuid(), 1, 'x', ''::bytea) RETURNING notification_id"
        ).fetchone()
    assert row is not None
    gap = int(row[0])
    record(node.app, "bob", 3)
    chain_up(node)
    assert verify(node.database_url).clean  # a gap in both tables is no tampering
    tamper(
        node.database_url,
        f"INSERT INTO {EVENTS} (originator_id, originator_version, topic, state, notification_id)"
        f" SELECT gen_random_uuid(), 1, topic, state, {gap} FROM {EVENTS}"
        " WHERE notification_id = 1",
    )
    broken = verify(node.database_url).broken
    assert broken is not None and (broken.position, broken.kind) == (gap, "inserted")


def test_an_altered_chain_record_is_reported(chained: Node) -> None:
    tamper(
        chained.database_url,
        "UPDATE audit_event_chain SET event_hash = sha256('forged') WHERE position = 11",
    )
    broken = verify(chained.database_url).broken
    assert broken is not None and (broken.position, broken.kind) == (11, "chain-altered")


def test_verify_from_a_position_checks_only_what_follows(chained: Node) -> None:
    tamper(chained.database_url, f"DELETE FROM {EVENTS} WHERE notification_id = 3")
    assert not verify(chained.database_url, start=2).clean
    later = verify(chained.database_url, start=4)
    assert later.clean and later.checked == 13


def test_settle_verify_exits_0_when_clean_and_1_naming_the_break(
    chained: Node,
    record: Record,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", chained.database_url)
    record(chained.app, "carol", 1)  # verify chains what is new first
    assert main(["verify", "--json"]) == 0
    clean = json.loads(capsys.readouterr().out)
    assert clean["clean"] and clean["checked"] == 20 and clean["broken"] is None
    tamper(chained.database_url, f"DELETE FROM {EVENTS} WHERE notification_id = 12")
    assert main(["verify", "--json"]) == 1
    broken = json.loads(capsys.readouterr().out)["broken"]
    assert (broken["position"], broken["kind"]) == (12, "deleted")
    assert main(["verify", "--from", "13"]) == 0
    assert "chain verified: 8 events from position 13" in capsys.readouterr().out


def test_a_chain_rewritten_after_an_edit_is_caught_by_the_anchor(
    chained: Node, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", chained.database_url)
    assert main(["anchor", "--json"]) == 0
    anchored = json.loads(capsys.readouterr().out)
    assert anchored["position"] == 16
    # Edit event 6 and recompute the chain records from there, as a careful forger would.
    tamper(
        chained.database_url,
        f"UPDATE {EVENTS} SET state = state || ' '::bytea WHERE notification_id = 6",
        "DELETE FROM audit_event_chain WHERE position >= 6",
    )
    with psycopg.connect(chained.database_url) as conn:
        rows = conn.execute(
            f"SELECT notification_id, originator_id, originator_version, topic, state FROM {EVENTS}"
            " WHERE notification_id >= 6 ORDER BY notification_id"
        ).fetchall()
        previous_row = conn.execute(
            "SELECT chain_hash FROM audit_event_chain WHERE position = 5"
        ).fetchone()
        assert previous_row is not None
        previous = bytes(previous_row[0])
        for position, oid, version, topic, state in rows:
            this = event_hash(position, oid, version, topic, bytes(state))
            previous = chain_hash(previous, this)
            conn.execute(
                "INSERT INTO audit_event_chain (position, originator_id, originator_version,"
                " topic, event_hash, chain_hash) VALUES (%s, %s, %s, %s, %s, %s)",
                (position, oid, version, topic, this, previous),
            )
    assert main(["verify", "--json"]) == 1
    broken = json.loads(capsys.readouterr().out)["broken"]
    assert (broken["position"], broken["kind"]) == (16, "rewritten")
