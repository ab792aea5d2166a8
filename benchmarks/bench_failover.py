"""Takeover time: from the leader's SIGKILL to the standby's first act as leader (the epoch it
takes in `node_leadership`), over N kills, p50/p99, beside the lock poll interval as the floor.

Two `settle run` instances share one database (no rails: leadership alone is timed). Each round
SIGKILLs the leader, times until the epoch rises, then restarts the killed one as the standby and
waits until it runs before the next kill. The standby tries for the lock once per poll interval,
so takeover is bounded by one interval plus the time PostgreSQL takes to end the dead leader's
session; where in its interval the standby is when the leader dies decides the rest (here the
kill follows the standby's start closely, so takeovers sit near one interval).

    python -m benchmarks.bench_failover [--kills 20]
"""

from __future__ import annotations

import argparse
import inspect
import tempfile
import time
from functools import partial
from pathlib import Path

from benchmarks.common import benchmark_database
from bootstrap.leadership import lead_while_possible
from tests.support.node_process import NodeProcess, leadership_epoch, node_environment, wait_until


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def poll_interval() -> float:
    """The interval `settle run` uses: lead_while_possible's default (service.py passes none)."""
    return float(inspect.signature(lead_while_possible).parameters["interval"].default)


def running(process: NodeProcess) -> bool:
    return "node running" in process.log_text()


def measure(database_url: str, kills: int, logs: Path) -> list[float]:
    env = node_environment({"DATABASE_URL": database_url, "SETTLE_NODE_ID": "bench-node"})
    started = 0

    def start() -> NodeProcess:
        nonlocal started
        started += 1
        return NodeProcess(env, logs / f"instance-{started}.log").start()

    leader = start()
    wait_until(lambda: leader.acquired_epochs() != [], 90, "the first leader", leader)
    standby = start()
    wait_until(lambda: running(standby), 90, "the standby", standby)
    takeovers: list[float] = []
    try:
        for _ in range(kills):
            epoch = leadership_epoch(database_url)
            killed_at = time.perf_counter()
            leader.kill()
            while leadership_epoch(database_url) <= epoch:
                time.sleep(0.005)
            takeovers.append(time.perf_counter() - killed_at)
            leader, standby = standby, start()
            wait_until(partial(running, standby), 90, "the restarted standby", standby)
    finally:
        for process in (leader, standby):
            if process.returncode is None:
                process.stop()
    return takeovers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    args = parser.parse_args()
    with (
        benchmark_database("bench_failover") as database_url,
        tempfile.TemporaryDirectory(prefix="bench-failover-") as logs,
    ):
        takeovers = measure(database_url, args.kills, Path(logs))
    floor = poll_interval()
    print(f"takeover after SIGKILL of the leader, {len(takeovers)} kills:")
    print(f"  p50 {percentile(takeovers, 0.5) * 1000:8.1f} ms")
    print(f"  p99 {percentile(takeovers, 0.99) * 1000:8.1f} ms")
    print(f"  max {max(takeovers) * 1000:8.1f} ms")
    print(
        f"  lock poll interval (floor) {floor * 1000:.0f} ms:"
        " a standby tries for the lock once per interval, so takeover waits up to one"
    )


if __name__ == "__main__":
    main()
