"""Exports the JSON schemas of the Kafka messages into schemas/kafka/, for consumers to validate.

Run `python -m adapters.kafka.schemas` after changing a message model; a unit test checks the
committed files equal this export.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from adapters.kafka.messages import EventMessageV1, TelemetryMessageV1

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas" / "kafka"
_SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"


def schema_documents() -> dict[str, str]:
    """File name -> exact file text of each exported schema, as messages appear on the wire
    (fields with defaults are always present, so they are required)."""
    documents: dict[str, str] = {}
    for file_name, model in (
        ("event-message.v1.json", EventMessageV1),
        ("telemetry-message.v1.json", TelemetryMessageV1),
    ):
        schema: dict[str, Any] = {
            "$schema": _SCHEMA_URI,
            **model.model_json_schema(mode="serialization"),
        }
        documents[file_name] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return documents


def export_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, text in schema_documents().items():
        path = directory / file_name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in export_schemas(Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_DIR):
        print(path)
