"""Every event type of a real history publishes: the demo's whole run (peers, channels on a
chain, settlements routed across rails, claims) goes to Kafka with `settle kafka publish`, and
every message fits the committed schemas: the envelope, its event type's payload schema (an
event type without one fails), and the telemetry schema."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from bootstrap.node import Node
from entrypoints.cli import main
from projections.runner import head_position
from tests.support.kafka_broker import read_topic, read_topics
from tests.support.kafka_schemas import validate_event_message, validate_telemetry_message


@pytest.mark.slow(20)
def test_the_demo_history_publishes_whole(
    node: Node, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo"]) == 0
    capsys.readouterr()
    with node.pool.connection() as conn:
        rows = conn.execute(
            "SELECT split_part(split_part(topic, ':', 2), '.', 1) AS kind, count(*) AS n"
            " FROM settlementledger_events GROUP BY 1"
        ).fetchall()
    recorded = {row["kind"]: int(row["n"]) for row in rows}
    assert set(recorded) == {"PeerAccount", "Channel", "Settlement"}

    assert main(["--json", "kafka", "publish"]) == 0
    assert json.loads(capsys.readouterr().out)["published_events"] == sum(recorded.values())
    assert main(["--json", "kafka", "status"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["lag"] == 0 and status["position"] == head_position(node.app)

    kafka = node.settings.kafka
    topics = [kafka.topic_for(kind) for kind in recorded]
    messages = read_topics(kafka, topics, expected=sum(recorded.values()))
    assert len(messages) == sum(recorded.values())

    values = [json.loads(m.value) for m in messages]
    for value in values:
        validate_event_message(value)
    assert sorted(v["position"] for v in values) == list(range(1, len(values) + 1))
    published_types = Counter(v["event_type"] for v in values)
    assert {"PeerAccount.PacketsRecorded", "Channel.Opened", "Settlement.RailChosen"} <= set(
        published_types
    )

    telemetry = [json.loads(m.value) for m in read_topic(kafka, kafka.telemetry_topic, 1)]
    for value in telemetry:
        validate_telemetry_message(value)
    kinds = Counter(t["type"] for t in telemetry)
    assert kinds["CHANNEL_CREATION_STARTED"] == published_types["Channel.OpenRequested"]
    assert kinds["CHANNEL_CREATION_SUCCEEDED"] == published_types["Channel.Opened"]
    assert kinds["CHANNEL_OPENED"] == published_types["Channel.Opened"]
    settled = sum(
        published_types[f"PeerAccount.{name}"]
        for name in ("SettlementApplied", "SettlementReceived", "SettlementReleased")
    )
    assert settled > 0
    assert kinds["ACCOUNTS_UPDATED"] == published_types["PeerAccount.PacketsRecorded"] + settled
