"""The new-events signal carries a position: a follower that was busy when events arrived finds
the head already beyond it and does not wait; news relayed from elsewhere never echoes."""

from __future__ import annotations

import threading

from application.new_events import NewEvents


def test_a_signal_sent_while_the_follower_was_busy_is_not_lost() -> None:
    news = NewEvents()
    news.publish(5)  # arrives before the follower starts waiting
    assert news.wait_beyond(4, timeout=0) is True
    assert news.wait_beyond(5, timeout=0) is False


def test_a_waiting_follower_wakes_when_events_are_recorded() -> None:
    news = NewEvents()
    woke = threading.Event()

    def follower() -> None:
        if news.wait_beyond(0, timeout=30):
            woke.set()

    thread = threading.Thread(target=follower)
    thread.start()
    news.publish(1)
    thread.join(30)
    assert woke.is_set()


def test_listeners_hear_only_of_events_recorded_here_and_never_of_older_positions() -> None:
    news = NewEvents()
    heard: list[int] = []
    news.subscribe(heard.append)
    news.publish(3)
    news.publish(2)
    news.publish(9, recorded_here=False)
    news.publish(10)
    assert heard == [3, 10]
    assert news.head == 10
