"""The reference consumer rebuilds the ledger's balances from Kafka alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from adapters.kafka.admin import ensure_topics
from adapters.kafka.balance_view import BalanceView
from adapters.kafka.consumer import ReferenceConsumer
from bootstrap.kafka import publisher_runner
from bootstrap.node import Node
from entrypoints.cli import main
from tests.support.kafka_broker import Activity


def _publish(node: Node) -> int:
    runner, producer = publisher_runner(node)
    try:
        return runner.catch_up()
    finally:
        runner.close()
        producer.close()


def _ledger_balances(node: Node) -> dict[tuple[str, str], tuple[int, int, int, bool]]:
    node.catch_up_read_models()
    return {
        (r["peer_id"], r["asset_code"]): (
            int(r["payable"]),
            int(r["receivable"]),
            int(r["in_flight"]),
            r["paused"],
        )
        for r in node.read_side().all_balances()
    }


def _view_balances(view: BalanceView) -> dict[tuple[str, str], tuple[int, int, int, bool]]:
    return {
        key: (b.payable, b.receivable, b.in_flight, b.paused) for key, b in view.balances().items()
    }


def test_consume_check_finds_the_view_equal_to_the_read_model_and_then_a_difference(
    node: Node, cli_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    activity = Activity(node.app, peers=3)
    activity.packets(rounds=4)
    activity.settle("peer-0", 400)
    activity.settle("peer-2", 250, fail=True)
    node.app.pause(activity.accounts["peer-1"], "audit")
    _publish(node)
    _ledger_balances(node)
    view = str(tmp_path / "view.sqlite3")

    assert main(["--json", "consume", "--group", "check", "--view", view, "--check"]) == 0
    assert '"equal": true' in capsys.readouterr().out

    node.app.resume(activity.accounts["peer-1"])
    activity.packets(rounds=1)  # recorded and projected, not yet published
    _ledger_balances(node)
    assert main(["--json", "consume", "--group", "check", "--view", view, "--check"]) == 1
    assert '"field": "payable"' in capsys.readouterr().out

    _publish(node)
    assert main(["--json", "consume", "--group", "check", "--view", view, "--check"]) == 0


def test_consumers_survive_rebalances_and_restarts_without_loss(node: Node, tmp_path: Path):
    kafka = node.settings.kafka
    ensure_topics(kafka, [kafka.topic_for("PeerAccount")], partitions=4)
    activity = Activity(node.app, peers=6)
    activity.packets(rounds=3)
    _publish(node)
    path = tmp_path / "view.sqlite3"
    first = _Running(ReferenceConsumer(kafka, "rebalance", BalanceView(path)))
    _wait_until(lambda: len(first.consumer.assigned) == 4, "first consumer got no partitions")

    second = _Running(ReferenceConsumer(kafka, "rebalance", BalanceView(path)))
    activity.packets(rounds=3)
    activity.settle("peer-3", 900)
    _publish(node)
    _wait_until(
        lambda: (
            len(first.consumer.assigned) + len(second.consumer.assigned) == 4
            and second.consumer.assigned
        ),
        "the group did not rebalance over both consumers",
        running=(first, second),
    )
    first.stop()  # leaves the group: its partitions move to the second consumer

    activity.packets(rounds=2)
    _publish(node)
    _wait_until(lambda: len(second.consumer.assigned) == 4, "second consumer did not take over")
    second.stop()

    activity.settle("peer-5", 100)
    _publish(node)
    restarted = ReferenceConsumer(kafka, "rebalance", BalanceView(path))
    try:
        restarted.catch_up()
    finally:
        restarted.close()

    view = BalanceView(path)
    try:
        assert _view_balances(view) == _ledger_balances(node)
    finally:
        view.close()
    received = first.consumer.stats.received + second.consumer.stats.received
    received += restarted.stats.received
    applied = first.consumer.stats.applied + second.consumer.stats.applied
    applied += restarted.stats.applied
    peer_account_events = sum(
        1
        for n in node.app.recorder.select_notifications(start=1, limit=100_000)
        if ":PeerAccount." in n.topic
    )
    assert applied == peer_account_events  # each event applied exactly once in the view
    assert received >= applied
    assert restarted.stats.received < peer_account_events  # resumed from committed offsets


class _Running:
    """A consumer polling in its own thread until stopped, then closed in that thread."""

    def __init__(self, consumer: ReferenceConsumer) -> None:
        self.consumer = consumer
        self._stop = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.consumer.run(self._stop)
        except BaseException as error:
            self.error = error
        finally:
            self.consumer.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        assert not self._thread.is_alive()
        assert self.error is None, self.error


def _wait_until(
    condition, what: str, timeout: float = 90.0, running: tuple[_Running, ...] = ()
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        for each in running:
            assert each.error is None, each.error
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


def test_consumer_process_killed_mid_stream_resumes_without_loss_or_double_count(
    node: Node, cli_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    kafka = node.settings.kafka
    ensure_topics(kafka, [kafka.topic_for("PeerAccount")], partitions=3)
    activity = Activity(node.app, peers=4)
    activity.packets(rounds=60)
    activity.settle("peer-2", 1234)
    _publish(node)
    expected = _ledger_balances(node)
    path = tmp_path / "view.sqlite3"
    monkeypatch.setenv("SETTLE_KAFKA__CONSUMER_MAX_POLL_RECORDS", "5")
    settle = str(Path(sys.executable).parent / "settle")
    command = [settle, "consume", "--group", "crash", "--view", str(path)]
    consumer = subprocess.Popen(command, start_new_session=True, stderr=subprocess.DEVNULL)
    try:
        view = BalanceView(path)
        try:
            _wait_until(lambda: view.last_position() > 0, "the consumer applied nothing")
            os.killpg(consumer.pid, signal.SIGKILL)
            consumer.wait()
            killed_at = view.last_position()
        finally:
            view.close()
    finally:
        if consumer.poll() is None:
            os.killpg(consumer.pid, signal.SIGKILL)
            consumer.wait()

    checked = subprocess.run([*command, "--check"], capture_output=True, text=True)

    assert checked.returncode == 0, checked.stdout + checked.stderr[-2000:]
    print(f"consumer killed after applying up to position {killed_at}")
    view = BalanceView(path)
    try:
        assert _view_balances(view) == expected
    finally:
        view.close()
