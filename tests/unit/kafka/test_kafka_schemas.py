"""The committed JSON schemas are exactly what the message models export."""

from __future__ import annotations

import json

from adapters.kafka.schemas import SCHEMA_DIR, schema_documents


def test_committed_schemas_equal_the_export():
    documents = schema_documents()
    assert sorted(p.name for p in SCHEMA_DIR.glob("*.json")) == sorted(documents)
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
