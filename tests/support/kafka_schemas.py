"""Validates Kafka messages against the committed JSON schemas (schemas/kafka/), as a consumer
would: the envelope, then the payload against the schema of its event type."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from adapters.kafka.schemas import SCHEMA_DIR


@cache
def validator(relative: str) -> Draft202012Validator:
    """The validator of schemas/kafka/<relative>; a missing file fails with its name."""
    path = SCHEMA_DIR / relative
    assert path.is_file(), f"no committed schema {path.relative_to(SCHEMA_DIR.parent.parent)}"
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def validate_event_message(value: dict[str, Any]) -> None:
    validator("event-message.v1.json").validate(value)
    validator(f"payloads/{value['event_type']}.v1.json").validate(value["payload"])


def validate_telemetry_message(value: dict[str, Any]) -> None:
    validator("telemetry-message.v1.json").validate(value)
