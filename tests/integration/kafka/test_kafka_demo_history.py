"""Every event type of a real history publishes: the demo's whole run (peers, channels on a
chain, settlements routed across rails, claims) goes to Kafka with `settle kafka publish`."""

from __future__ import annotations

import json

import pytest

from bootstrap.node import Node
from entrypoints.cli import main
from projections.runner import head_position
from tests.support.kafka_broker import read_topics


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
