"""The messages settlement-ledger publishes to Kafka, versioned, defined by pydantic models.

Consumers validate against the JSON schemas exported from these models (schemas/kafka/).
A breaking change gets a new model with a new schema_version; fields are only ever added
as optional within a version.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

JsonValue = Any  # str | int | bool | None | list | dict; amounts are JSON integers here


class EventMessageV1(BaseModel):
    """One domain event, on the topic of its aggregate type, keyed by the aggregate id."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="SettlementLedgerEventV1",
        json_schema_serialization_defaults_required=True,
    )

    event_type: str = Field(
        min_length=1, description="Aggregate type and event class, e.g. PeerAccount.Opened."
    )
    schema_version: Literal[1] = 1
    aggregate_type: str = Field(min_length=1, description="e.g. PeerAccount, Channel, Settlement.")
    aggregate_id: UUID
    aggregate_version: int = Field(ge=1, description="Gap-free per aggregate; 1 is the creation.")
    position: int = Field(
        ge=1, description="Global position in the event store; unique, increasing. Dedupe on it."
    )
    occurred_at: AwareDatetime
    payload: dict[str, JsonValue] = Field(
        description="The event's attributes: UUIDs as strings, times ISO 8601, money as integers "
        "in minor units (may exceed 2**53; parse as big integers). Each event type's payload "
        "has its own schema: payloads/<event_type>.v1.json."
    )


class TelemetryType(StrEnum):
    SETTLEMENT_PENDING = "SETTLEMENT_PENDING"
    SETTLEMENT_COMPLETED = "SETTLEMENT_COMPLETED"
    SETTLEMENT_FAILED = "SETTLEMENT_FAILED"
    CHANNEL_OPENED = "CHANNEL_OPENED"
    CHANNEL_DISPUTED = "CHANNEL_DISPUTED"
    ACCOUNTS_UPDATED = "ACCOUNTS_UPDATED"
    # Added within v1: channel provisioning, as the seed stories name it.
    CHANNEL_CREATION_STARTED = "CHANNEL_CREATION_STARTED"
    CHANNEL_CREATION_SUCCEEDED = "CHANNEL_CREATION_SUCCEEDED"
    CHANNEL_CREATION_FAILED = "CHANNEL_CREATION_FAILED"
    # Added within v1: we stop paying over a channel (it closed or is disputed under us, or an
    # operator closes it); `reason` says why.
    CHANNEL_ABANDONED = "CHANNEL_ABANDONED"


# Fields added within v1. Every message published since carries them, but messages published
# before do not: they stay out of the schema's `required`, so the v1 schema accepts both.
_ADDED_WITHIN_V1 = (
    "reason",
    "error_class",
    "payable_change",
    "receivable_change",
    "in_flight_change",
)


def _not_required_added_fields(schema: dict[str, Any]) -> None:
    schema["required"] = [name for name in schema["required"] if name not in _ADDED_WITHIN_V1]


_AMOUNT = r"^-?[0-9]+$"


class TelemetryMessageV1(BaseModel):
    """The lifecycle as operators' telemetry stream knows it, mapped from domain events."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="SettlementLedgerTelemetryV1",
        json_schema_serialization_defaults_required=True,
        json_schema_extra=_not_required_added_fields,
    )

    type: TelemetryType
    schema_version: Literal[1] = 1
    node_id: str = Field(min_length=1)
    peer: str | None = None
    channel: str | None = Field(default=None, description="Channel aggregate id, if any.")
    asset_code: str | None = None
    amount: str | None = Field(
        default=None, pattern=_AMOUNT, description="Minor units, as a decimal string."
    )
    duration_ms: int | None = Field(default=None, ge=0)
    retry_count: int = Field(default=0, ge=0)
    aggregate_id: UUID
    event_type: str = Field(min_length=1, description="The domain event this was mapped from.")
    position: int = Field(ge=1, description="Global position of that domain event.")
    occurred_at: AwareDatetime
    reason: str | None = Field(
        default=None,
        description="Why: SETTLEMENT_FAILED, CHANNEL_CREATION_FAILED and CHANNEL_ABANDONED.",
    )
    error_class: str | None = Field(
        default=None,
        description="SETTLEMENT_FAILED: the class of the error that ended the settlement, or of "
        "its last failed attempt; null when neither names one.",
    )
    payable_change: str | None = Field(
        default=None,
        pattern=_AMOUNT,
        description="ACCOUNTS_UPDATED: signed change of what we owe the peer (minor units).",
    )
    receivable_change: str | None = Field(
        default=None,
        pattern=_AMOUNT,
        description="ACCOUNTS_UPDATED: signed change of what the peer owes us (minor units).",
    )
    in_flight_change: str | None = Field(
        default=None,
        pattern=_AMOUNT,
        description="ACCOUNTS_UPDATED: signed change of payable reserved for settlements.",
    )


@dataclass(frozen=True)
class OutgoingMessage:
    """A message ready for the producer: the topic, key and value bytes and the headers."""

    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    position: int


def event_record(message: EventMessageV1, topic: str) -> OutgoingMessage:
    return OutgoingMessage(
        topic=topic,
        key=str(message.aggregate_id).encode(),
        value=_json(message),
        headers=(
            ("event_type", message.event_type.encode()),
            ("schema_version", str(message.schema_version).encode()),
            ("position", str(message.position).encode()),
        ),
        position=message.position,
    )


def telemetry_record(message: TelemetryMessageV1, topic: str) -> OutgoingMessage:
    """Keyed by peer when known, so one peer's lifecycle stays in order."""
    key = message.peer if message.peer is not None else str(message.aggregate_id)
    return OutgoingMessage(
        topic=topic,
        key=key.encode(),
        value=_json(message),
        headers=(
            ("event_type", message.type.value.encode()),
            ("schema_version", str(message.schema_version).encode()),
            ("position", str(message.position).encode()),
        ),
        position=message.position,
    )


def _json(message: BaseModel) -> bytes:
    """`model_dump_json().encode()` without the round trip through str."""
    return message.__pydantic_serializer__.to_json(message)
