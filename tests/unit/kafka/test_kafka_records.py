"""The bytes a message is published as: its model's JSON, written without a detour through
str, and read back into the same model (the schema check of what is published)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from adapters.kafka.messages import (
    EventMessageV1,
    TelemetryMessageV1,
    TelemetryType,
    event_record,
    telemetry_record,
)

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def test_an_event_record_is_the_models_json_and_validates() -> None:
    message = EventMessageV1(
        event_type="PeerAccount.PacketsRecorded",
        aggregate_type="PeerAccount",
        aggregate_id=uuid.uuid4(),
        aggregate_version=3,
        position=12,
        occurred_at=T0,
        payload={"batch_id": "b-é", "entries": [["p1", "incoming", 2**100]], "made_at": None},
    )
    record = event_record(message, "events")
    assert record.value == message.model_dump_json().encode()
    assert EventMessageV1.model_validate_json(record.value) == message


def test_a_telemetry_record_is_the_models_json_and_validates() -> None:
    message = TelemetryMessageV1(
        type=TelemetryType.ACCOUNTS_UPDATED,
        node_id="node-a",
        peer="alice",
        asset_code="USD",
        amount="-5",
        aggregate_id=uuid.uuid4(),
        event_type="PeerAccount.PacketsRecorded",
        position=12,
        occurred_at=T0,
        receivable_change="0",
    )
    record = telemetry_record(message, "telemetry")
    assert record.value == message.model_dump_json().encode()
    assert record.key == b"alice"
    assert TelemetryMessageV1.model_validate_json(record.value) == message
