"""A long event log (issue 14): `settle run` start-up and memory while its followers stream it,
restart to ready once they have, and `settle replay` of it, in events per second.

The log is real: a template peer account (opened, then --per-account - 1 single-packet batches)
is recorded through the application, then copied in PostgreSQL (INSERT ... SELECT) under other
peers' names until --events are stored: each copy gets its peer's id (the id the application
derives), the template's event states with the peer name replaced, and its `packet_batches` rows,
so every copy loads, replays and posts like an account recorded one batch at a time. The check
after the fill loads a few copies through the application and compares them with the template.

`settle run` runs as a subprocess on the same database (DATABASE_URL), as an operator starts it:
from start to the `node running` log line and to `/readyz` answering 200, VmRSS sampled from
/proc every --sample seconds until every follower's position reaches the head (or
--stream-timeout), then a restart with the followers caught up. `settle replay` rebuilds the read
models from the first event; its rate is events over the command's wall time (process start
included) and over the replay alone as it reports it. No assertion on speed: figures to compare.

The replay's floor, from the same run: the `settle` process starting and exiting
(`settle --help`) plus PostgreSQL reading every stored event's JSON state once (a sum over one of
its fields): what any replay that reads the log must at least spend.

    python -m benchmarks.bench_long_history [--events 1000000] [--per-account 100]
        [--phases run,restart,replay]

Before the nodes start, the project's modules are byte-compiled as the service image does
(Dockerfile: `compileall`); with PYTHONDONTWRITEBYTECODE set, as here, every start would
otherwise compile them again (`--no-compile` measures that).

Without the `run` phase, the live read models are caught up first by an untimed `settle replay`
(as `settle run` would have), so the timed one measures the rebuild alone.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess  # nosec B404 - runs our own console script
import tempfile
import time
import urllib.request
from pathlib import Path

import psycopg

from application.app import SettlementApp
from application.event_store import postgres_env
from benchmarks.common import benchmark_database
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry, PeerAccount
from projections.event_chain import EVENTS_TABLE
from tests.support.node_process import SETTLE, NodeProcess, node_environment

TEMPLATE = "tmpl-000000"  # copies are named tmpl-NNNNNN: same length, so the bytes stay valid


def peer_name(copy: int) -> str:
    return f"tmpl-{copy:06d}"


def fill(url: str, events: int, per_account: int) -> int:
    """Records the template, copies it; returns the number of accounts."""
    app = SettlementApp(env=postgres_env(url))
    app.open_peer_account(TEMPLATE, Asset("USD", 2), 10**30, 0, 10**30)
    for b in range(per_account - 1):
        entry = PacketEntry(f"p{b}", Direction.OUTGOING, 100 + b % 97)
        app.record_packets(TEMPLATE, "USD", f"b{b}", [entry])
    app.close()
    accounts = max(events // per_account, 1)
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TEMP TABLE copies (k int, account uuid, peer text)")
        with conn.cursor() as cursor, cursor.copy("COPY copies FROM STDIN") as copy:
            for k in range(1, accounts):
                copy.write_row((k, PeerAccount.create_id(peer_name(k), "USD"), peer_name(k)))
        template = PeerAccount.create_id(TEMPLATE, "USD")
        copy_events = (
            f"INSERT INTO {EVENTS_TABLE} (originator_id, originator_version, topic, state)"  # nosec B608
            " SELECT c.account, e.originator_version, e.topic,"
            " convert_to(replace(convert_from(e.state, 'UTF8'), %s, c.peer), 'UTF8')"
            f" FROM copies c CROSS JOIN {EVENTS_TABLE} e WHERE e.originator_id = %s"
            " ORDER BY c.k, e.originator_version"
        )
        conn.execute(copy_events, (TEMPLATE, template))
        conn.execute(
            "INSERT INTO packet_batches (account_id, batch_id, digest, result, made_at, expires)"
            " SELECT c.account, b.batch_id, b.digest, b.result, b.made_at, b.expires"
            " FROM copies c CROSS JOIN packet_batches b WHERE b.account_id = %s",
            (template,),
        )
        conn.commit()
        conn.autocommit = True
        conn.execute(f"VACUUM ANALYZE {EVENTS_TABLE}")
    return accounts


def check_copies(url: str, accounts: int) -> None:
    """Copies load through the application exactly as the template does."""
    app = SettlementApp(env=postgres_env(url))
    try:
        original = app.peer_account(TEMPLATE, "USD")
        for k in {1, accounts // 2, accounts - 1} - {0}:
            copy = app.peer_account(peer_name(k), "USD")
            facts = (copy.version, copy.peer_id, copy.payable, copy.receivable)
            if facts != (original.version, peer_name(k), original.payable, original.receivable):
                raise AssertionError(f"copy {k} does not load as the template")
    finally:
        app.close()


def stored_events(url: str) -> int:
    with psycopg.connect(url) as conn:
        query = f"SELECT max(notification_id) FROM {EVENTS_TABLE}"  # nosec B608 - a constant
        row = conn.execute(query).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def lowest_follower_position(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT min(position) FROM projection_tracking").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used: start-up cost that the machine's load does
    not inflate (the wall time to ready does, on a shared machine)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def api_url(node: NodeProcess) -> str | None:
    for record in node.log_records():
        if record.get("event") == "http api listening":
            return str(record["url"])
    return None


def ready(url: str | None) -> bool:
    if url is None:
        return False
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:  # nosec B310
            return bool(response.status == 200)
    except OSError:
        return False


def run_node(url: str, log: Path, args: argparse.Namespace, stream: bool) -> dict[str, float]:
    """Starts `settle run`; times `node running` and /readyz; with `stream`, samples RSS until
    every follower reached the head. Stops the node."""
    head = stored_events(url)
    env = node_environment({"DATABASE_URL": url, "SETTLE_NODE_ID": "bench-long"})
    figures: dict[str, float] = {}
    started = time.perf_counter()
    node = NodeProcess(env, log).start()
    assert node.process is not None
    pid = node.process.pid
    samples: list[int] = []
    try:
        deadline = started + args.stream_timeout
        while time.perf_counter() < deadline:
            if node.returncode is not None:
                raise RuntimeError(f"settle run exited: {node.log_text()[-3000:]}")
            samples.append(rss_kib(pid))
            now = time.perf_counter() - started
            if "running" not in figures and "node running" in node.log_text():
                figures["running"] = now
            if "ready" not in figures and ready(api_url(node)):
                figures["ready"] = now
                figures["rss_at_ready_mib"] = samples[-1] / 1024
                figures["cpu_at_ready_s"] = cpu_seconds(pid)
            if "ready" in figures and not stream:
                break
            if "ready" in figures and lowest_follower_position(url) >= head:
                figures["caught_up"] = now
                break
            time.sleep(args.sample)
        figures["rss_first_mib"] = samples[0] / 1024
        figures["rss_max_mib"] = max(samples) / 1024
        figures["rss_last_mib"] = samples[-1] / 1024
        figures["behind"] = head - lowest_follower_position(url)
    finally:
        node.stop()
    return figures


def replay(url: str) -> tuple[float, int]:
    env = node_environment({"DATABASE_URL": url})
    started = time.perf_counter()
    done = subprocess.run(  # nosec B603 - our own console script, fixed arguments
        [SETTLE, "replay"], env=env, capture_output=True, text=True, timeout=3600, check=False
    )
    elapsed = time.perf_counter() - started
    replayed = 0
    for line in done.stdout.splitlines():
        if line.startswith("replayed "):
            replayed = int(line.split()[1])
    if done.returncode != 0 or not replayed:
        raise RuntimeError(f"settle replay failed ({done.returncode}): {done.stdout}{done.stderr}")
    return elapsed, replayed


def compile_project() -> None:
    """Byte-compiles the packages `settle` imports, where it imports them from, as the image
    does at build time."""
    import compileall

    import bootstrap

    root = Path(bootstrap.__file__).resolve().parents[1]
    for package in ("domain", "application", "projections", "adapters", "entrypoints", "bootstrap"):
        compileall.compile_dir(root / package, quiet=1)


def replay_floor(url: str, stored: int) -> float:
    """Seconds: `settle --help` plus one read of every event's JSON state in PostgreSQL."""
    env = node_environment({"DATABASE_URL": url})
    started = time.perf_counter()
    subprocess.run(  # nosec B603 - our own console script, fixed arguments
        [SETTLE, "--help"], env=env, capture_output=True, timeout=120, check=True
    )
    with psycopg.connect(url) as conn:
        query = (
            "SELECT sum(length(convert_from(state, 'UTF8')::json ->> 'timestamp'))"  # nosec B608
            f" FROM {EVENTS_TABLE} WHERE notification_id <= %s"
        )
        conn.execute(query, (stored,)).fetchone()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--per-account", type=int, default=100)
    parser.add_argument("--sample", type=float, default=0.2)
    parser.add_argument("--stream-timeout", type=float, default=900.0)
    parser.add_argument("--phases", default="run,restart,replay", help="run,restart,replay")
    parser.add_argument("--no-compile", action="store_true", help="no byte-compiling first")
    args = parser.parse_args()
    phases = set(args.phases.split(","))
    if not args.no_compile:
        compile_project()
    with (
        benchmark_database("bench_long_history") as url,
        tempfile.TemporaryDirectory(prefix="bench-long-") as logs,
    ):
        started = time.perf_counter()
        accounts = fill(url, args.events, args.per_account)
        check_copies(url, accounts)
        stored = stored_events(url)
        filled = time.perf_counter() - started
        print(f"stored {stored} events ({accounts} accounts) in {filled:.1f} s")
        if "run" in phases:
            first = run_node(url, Path(logs) / "first.log", args, stream=True)
            print("settle run, followers from the first event:", json.dumps(_rounded(first)))
            growth = first["rss_max_mib"] - first["rss_at_ready_mib"]
            print(f"  RSS growth while streaming (max - at ready): {growth:.1f} MiB")
            if "caught_up" in first:
                streamed = stored / (first["caught_up"] - first["ready"])
                print(f"  followers streamed {stored} events at {streamed:,.0f} events/s")
        if "restart" in phases:
            again = run_node(url, Path(logs) / "restart.log", args, stream=False)
            print("settle run, restart:", json.dumps(_rounded(again)))
        if "replay" in phases:
            if "run" not in phases:
                warm, _ = replay(url)
                print(f"untimed settle replay (live read models caught up): {warm:.1f} s")
            elapsed, replayed = replay(url)
            rate = replayed / elapsed
            floor = replay_floor(url, stored)
            print(
                f"settle replay: {replayed} events in {elapsed:.2f} s = {rate:,.0f} events/s;"
                f" floor {floor:.2f} s = {stored / floor:,.0f} events/s;"
                f" ratio {floor / elapsed:.2f}; load {_load()}"
            )


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def _rounded(figures: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in figures.items()}


if __name__ == "__main__":
    main()
