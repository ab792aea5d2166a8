"""Leadership among instances on one database: one leads at a time, a standby takes over when
the leader's session ends, and a former leader that comes back finds it no longer leads."""

from __future__ import annotations

import threading

import psycopg

from adapters.postgres.leadership import LeaderLock
from bootstrap.leadership import lead_while_possible
from bootstrap.supervisor import Supervisor


def _terminate_session_of(lock: LeaderLock, database_url: str) -> None:
    """What a network partition or a dead process does to the leader's session."""
    assert lock._conn is not None
    pid = lock._conn.info.backend_pid
    with psycopg.connect(database_url, autocommit=True) as admin:
        # Waits (up to 30 s) until the session is gone, so its lock is released.
        admin.execute("SELECT pg_terminate_backend(%s, 30000)", (pid,))


def test_one_instance_leads_and_a_standby_takes_over_with_a_newer_epoch(database_url: str) -> None:
    first, second = LeaderLock(database_url, "a"), LeaderLock(database_url, "b")
    try:
        assert first.try_acquire() == 1
        assert second.try_acquire() is None
        assert first.still_leader()
        _terminate_session_of(first, database_url)
        assert second.try_acquire() == 2
        # The former leader, resuming after a pause, finds it no longer leads.
        assert not first.still_leader()
        assert second.still_leader()
        with psycopg.connect(database_url) as conn:
            row = conn.execute("SELECT epoch, holder FROM node_leadership").fetchone()
        assert row == (2, "b")
    finally:
        first.release()
        second.release()


def test_leader_parts_stop_when_leadership_is_lost_and_a_new_term_begins(
    database_url: str,
) -> None:
    stop = threading.Event()
    terms: list[str] = []
    first_running = threading.Event()
    first_stopped = threading.Event()
    second_term = threading.Event()
    locks = {name: LeaderLock(database_url, name) for name in ("a", "b")}

    def parts_of(name: str):  # type: ignore[no-untyped-def]
        def start(supervisor: Supervisor, term: threading.Event) -> None:
            terms.append(name)
            number = len(terms)
            (first_running if number == 1 else second_term).set()

            def part() -> None:
                term.wait()
                if number == 1:
                    first_stopped.set()

            supervisor.start(f"executor-{name}", part)

        return start

    threads = [
        threading.Thread(
            target=lead_while_possible,
            args=(locks[name], parts_of(name), stop),
            kwargs={"interval": 0.05},
        )
        for name in ("a", "b")
    ]
    for thread in threads:
        thread.start()
    try:
        assert first_running.wait(30)
        _terminate_session_of(locks[terms[0]], database_url)
        assert first_stopped.wait(30)  # the former leader noticed and ended its term
        assert second_term.wait(30)  # and a new term began
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert not any(thread.is_alive() for thread in threads)
