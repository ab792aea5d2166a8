"""The node's supervisor: a failing part is restarted while the rest keep running; a critical
part's failure stops the node and makes it report failure."""

from __future__ import annotations

import threading

from bootstrap.supervisor import Supervisor


def test_a_failing_part_is_restarted_and_the_others_keep_running() -> None:
    stop = threading.Event()
    restarted: list[str] = []
    supervisor = Supervisor(
        stop, initial_backoff=0.001, max_backoff=0.002, on_restart=restarted.append
    )
    calls = {"flaky": 0, "steady": 0}
    flaky_recovered = threading.Event()
    steady_ran_after_failures = threading.Event()

    def flaky() -> None:
        calls["flaky"] += 1
        if calls["flaky"] <= 3:
            raise ConnectionError(f"down {calls['flaky']}")
        flaky_recovered.set()
        stop.wait()

    def steady() -> None:
        while not stop.is_set():
            calls["steady"] += 1
            if calls["flaky"] > 3:
                steady_ran_after_failures.set()
            stop.wait(0.001)

    supervisor.start("flaky", flaky)
    supervisor.start("steady", steady)
    assert flaky_recovered.wait(10) and steady_ran_after_failures.wait(10)
    status = supervisor.parts["flaky"]
    assert (status.state, status.restarts) == ("running", 3)
    assert status.last_error == "ConnectionError: down 3"
    assert restarted == ["flaky"] * 3
    assert supervisor.parts["steady"].restarts == 0
    stop.set()
    supervisor.join()
    assert not supervisor.failed
    assert {s.state for s in supervisor.parts.values()} == {"stopped"}


def test_a_critical_part_failing_stops_the_node_and_marks_it_failed() -> None:
    stop = threading.Event()
    supervisor = Supervisor(stop, initial_backoff=0.001)

    def endpoint() -> None:
        raise OSError("address already in use")

    supervisor.start("claims-endpoint", endpoint, critical=True)
    assert stop.wait(10)
    supervisor.join()
    assert supervisor.failed and supervisor.fatal == ["claims-endpoint"]
    assert supervisor.parts["claims-endpoint"].state == "failed"
