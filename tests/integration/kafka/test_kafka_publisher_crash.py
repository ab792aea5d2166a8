"""The publisher process killed with SIGKILL mid-stream and restarted loses nothing."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from adapters.kafka.admin import ensure_topics
from bootstrap.kafka import publisher_runner
from bootstrap.node import Node
from projections.runner import head_position
from tests.support.kafka_broker import (
    Activity,
    first_occurrence_versions,
    read_topics,
    records_by_position,
)


def _position(node: Node) -> int:
    runner, producer = publisher_runner(node)
    try:
        return runner.position()
    finally:
        runner.close()
        producer.close()


def _start_publisher(node: Node, database_url: str, log: Path) -> subprocess.Popen[bytes]:
    settle = shutil.which("settle", path=str(Path(sys.executable).parent))
    if settle is None:
        pytest.skip("the `settle` entry point is not installed in this environment")
    kafka = node.settings.kafka
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SETTLE_DATA_DIR": str(node.settings.data_dir),
        "SETTLE_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "SETTLE_KAFKA__TOPIC_PREFIX": kafka.topic_prefix,
        "SETTLE_KAFKA__TELEMETRY_TOPIC": kafka.telemetry_topic,
        "SETTLE_KAFKA__BATCH_SIZE": "7",
        "SETTLE_KAFKA__INITIAL_BACKOFF_MS": "50",
    }
    with log.open("ab") as output:
        return subprocess.Popen(
            [settle, "kafka", "publish", "--follow"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_until(condition, what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.02)


def test_publisher_killed_mid_stream_and_restarted_loses_nothing(
    node: Node, database_url: str, tmp_path: Path
):
    kafka = node.settings.kafka
    topics = [kafka.topic_for("PeerAccount"), kafka.topic_for("Settlement")]
    ensure_topics(kafka, topics, partitions=3)
    activity = Activity(node.app, peers=4)
    activity.packets(rounds=20)
    recording = threading.Event()
    recording.set()

    def keep_recording() -> None:
        while recording.is_set():
            activity.packets(rounds=1)

    recorder = threading.Thread(target=keep_recording)
    recorder.start()
    publisher = _start_publisher(node, database_url, tmp_path / "publisher.log")
    try:
        _wait_until(lambda: _position(node) >= 20, "first publisher made no progress")
        os.killpg(publisher.pid, signal.SIGKILL)
        publisher.wait()
        killed_at = _position(node)
        assert killed_at < head_position(node.app)  # it died with events still to publish

        publisher = _start_publisher(node, database_url, tmp_path / "publisher.log")
        _wait_until(lambda: _position(node) >= killed_at + 40, "restarted publisher stalled")
        recording.clear()
        recorder.join()
        head = head_position(node.app)
        _wait_until(lambda: _position(node) >= head, "restarted publisher did not catch up")
        publisher.send_signal(signal.SIGTERM)
        assert publisher.wait(timeout=30) == 0
    finally:
        recording.clear()
        recorder.join()
        if publisher.poll() is None:
            os.killpg(publisher.pid, signal.SIGKILL)
            publisher.wait()

    records = read_topics(kafka, topics, expected=head)
    assert sorted(records_by_position(records)) == list(range(1, head + 1))
    for key, versions in first_occurrence_versions(records).items():
        assert versions == list(range(1, len(versions) + 1)), key
