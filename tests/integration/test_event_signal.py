"""Followers wake on news of recorded events: at once in the recording process, and through
PostgreSQL LISTEN/NOTIFY in another process's application."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest

from adapters.postgres.event_signal import CHANNEL, EventAnnouncer, relay_notifications
from application.app import SettlementApp
from application.event_store import postgres_env
from bootstrap.node import Node, open_node
from bootstrap.settings import Settings
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry
from projections import runner as runner_module
from projections.balances import BalancesProjection

USD = Asset("USD", 2)


@pytest.fixture
def node(database_url: str) -> Iterator[Node]:
    with open_node(Settings(database_url=database_url)) as n:
        yield n


def test_a_save_publishes_its_position_to_the_applications_signal(node: Node) -> None:
    node.app.open_peer_account("bob", USD, 10**6, 0, 10**6)
    head = node.app.recorder.max_notification_id()
    assert node.app.new_events.head == head


def test_events_recorded_by_another_process_reach_the_listening_one(node: Node) -> None:
    writer = SettlementApp(env=postgres_env(node.database_url, pool_size=1))
    announcer = EventAnnouncer(node.database_url)
    writer.new_events.subscribe(announcer.announce)
    stop = threading.Event()
    relay = threading.Thread(
        target=relay_notifications, args=(node.database_url, node.app.new_events, stop)
    )
    relay.start()
    try:
        _wait_until_listening(node.database_url)  # news sent before it listens is not its to hear
        writer.open_peer_account("carol", USD, 10**6, 0, 10**6)
        position = writer.new_events.head
        assert position > 0
        assert node.app.new_events.wait_beyond(position - 1, timeout=30)
    finally:
        stop.set()
        relay.join(10)
        announcer.close()
        writer.close()


def test_a_follower_wakes_on_news_and_applies_what_was_recorded(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the signal can wake it within the test's patience: the fallback poll is an hour.
    monkeypatch.setattr(runner_module, "FALLBACK_POLL_SECONDS", 3600.0)
    runner = node.runner(BalancesProjection())
    node.app.open_peer_account("bob", USD, 10**6, 0, 10**6)
    runner.catch_up()
    stop = threading.Event()
    thread = threading.Thread(target=runner.run_forever, args=(stop,))
    thread.start()
    try:
        node.app.record_packets("bob", "USD", "b1", [PacketEntry("p", Direction.OUTGOING, 9)])
        head = node.app.new_events.head
        applied = threading.Event()

        def watch() -> None:
            while not stop.is_set():
                if runner.position() >= head:
                    applied.set()
                    return
                node.app.new_events.wait_beyond(head, 0.05)

        watcher = threading.Thread(target=watch)
        watcher.start()
        assert applied.wait(30)
        watcher.join(5)
    finally:
        stop.set()
        thread.join(10)


def _wait_until_listening(database_url: str) -> None:
    """Returns once a session has run LISTEN on the events channel (observed, not guessed)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        for _ in range(1200):  # a bound, so that a regression fails instead of hanging
            listening = conn.execute(
                "SELECT 1 FROM pg_stat_activity WHERE query = %s", (f"LISTEN {CHANNEL}",)
            ).fetchone()
            if listening:
                return
            conn.execute("SELECT pg_sleep(0.05)")
    raise AssertionError("the relay never listened")
