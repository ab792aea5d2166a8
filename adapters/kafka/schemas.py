"""Exports the JSON schemas of the Kafka messages into schemas/kafka/, for consumers to validate.

The envelopes (`event-message.v1.json`, `telemetry-message.v1.json`) come from the message
models; the payload of each event type (`payloads/<event_type>.v1.json`) from the event
classes (see `payload_schemas`). Run `python -m adapters.kafka.schemas` after changing a
message model or a domain event; a unit test checks the committed files equal this export.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from adapters.kafka.messages import EventMessageV1, TelemetryMessageV1
from adapters.kafka.payload_schemas import event_classes, payload_file_name, payload_schema

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas" / "kafka"
_SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"


def _text(schema: dict[str, Any]) -> str:
    return json.dumps({"$schema": _SCHEMA_URI, **schema}, indent=2, sort_keys=True) + "\n"


def schema_documents() -> dict[str, str]:
    """Path relative to schemas/kafka/ -> exact file text of each exported schema. Envelopes
    are as messages appear on the wire (fields with defaults are always present, so they are
    required, except those a model marks as added later)."""
    documents = {
        "event-message.v1.json": _text(EventMessageV1.model_json_schema(mode="serialization")),
        "telemetry-message.v1.json": _text(
            TelemetryMessageV1.model_json_schema(mode="serialization")
        ),
    }
    for event_type in event_classes():
        documents[payload_file_name(event_type)] = _text(payload_schema(event_type))
    return documents


def export_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Writes every document and removes payload schemas of event types that no longer exist."""
    documents = schema_documents()
    for stale in directory.glob("payloads/*.json"):
        if stale.relative_to(directory).as_posix() not in documents:
            stale.unlink()
    written = []
    for relative, text in documents.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in export_schemas(Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_DIR):
        print(path)
