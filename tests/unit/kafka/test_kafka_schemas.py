"""The committed JSON schemas are exactly what the message models and event classes export."""

from __future__ import annotations

import json
from pathlib import Path

from eventsourcing.domain import CanMutateAggregate

from adapters.kafka.payload_schemas import aggregate_classes, event_classes
from adapters.kafka.schemas import SCHEMA_DIR, export_schemas, schema_documents


def test_committed_schemas_equal_the_export():
    documents = schema_documents()
    committed = sorted(p.relative_to(SCHEMA_DIR).as_posix() for p in SCHEMA_DIR.rglob("*.json"))
    assert committed == sorted(documents), "run `python -m adapters.kafka.schemas`"
    for name, text in documents.items():
        assert (SCHEMA_DIR / name).read_text(encoding="utf-8") == text, (
            f"schemas/kafka/{name} is stale: run `python -m adapters.kafka.schemas`"
        )


def test_event_schema_requires_position_and_forbids_unknown_fields():
    schema = json.loads(schema_documents()["event-message.v1.json"])
    assert {
        "event_type",
        "schema_version",
        "aggregate_id",
        "aggregate_version",
        "position",
        "occurred_at",
        "payload",
    } <= set(schema["required"])
    assert schema["additionalProperties"] is False
    assert schema["properties"]["schema_version"]["const"] == 1


def test_every_event_class_of_every_aggregate_has_a_payload_schema():
    names = {a.__qualname__ for a in aggregate_classes()}
    assert {"PeerAccount", "Channel", "Settlement", "EngineAccount"} <= names
    documents = schema_documents()
    for aggregate in aggregate_classes():
        declared = {
            name
            for name, value in vars(aggregate).items()
            if isinstance(value, type)
            and issubclass(value, CanMutateAggregate)
            and name not in ("Event", "Created")
        }
        for name in declared:
            assert f"payloads/{aggregate.__qualname__}.{name}.v1.json" in documents
    assert "PeerAccount.ClaimRefused" in event_classes()
    assert "PeerAccount.Created" not in event_classes()  # never recorded: Opened creates


def test_payload_schemas_type_fields_as_the_mapping_encodes_them():
    def schema(event_type: str) -> dict:
        return json.loads(schema_documents()[f"payloads/{event_type}.v1.json"])

    requested = schema("Settlement.Requested")
    assert requested["additionalProperties"] is False
    assert requested["properties"]["amount"]["type"] == "integer"
    assert requested["properties"]["account_id"] == {
        "format": "uuid",
        "title": "Account Id",
        "type": "string",
    }
    assert requested["properties"]["at"]["format"] == "date-time"
    packets = schema("PeerAccount.PacketsRecorded")
    assert "made_at" not in packets["required"]  # events stored before it do not carry it
    assert {"batch_id", "incoming_total", "outgoing_total"} <= set(packets["required"])
    assert set(schema("PeerAccount.ClaimRefused")["required"]) == {"claim_id", "code", "detail"}


def test_export_removes_the_schema_of_an_event_type_that_no_longer_exists(tmp_path: Path):
    stale = tmp_path / "payloads" / "Settlement.Vanished.v1.json"
    stale.parent.mkdir()
    stale.write_text("{}", encoding="utf-8")

    written = export_schemas(tmp_path)

    assert not stale.exists()
    assert len(written) == len(schema_documents())


def test_the_kafka_guide_names_every_event_type_and_telemetry_type():
    guide = (SCHEMA_DIR.parents[1] / "docs" / "kafka.md").read_text(encoding="utf-8")
    missing = [t for t in event_classes() if f"| `{t}` |" not in guide]
    assert missing == [], "add them to the event table of docs/kafka.md"
    telemetry = json.loads(schema_documents()["telemetry-message.v1.json"])
    for kind in telemetry["$defs"]["TelemetryType"]["enum"]:
        assert f"| `{kind}` |" in guide, kind
