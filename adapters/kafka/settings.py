"""Kafka settings: the broker, the topic per aggregate type, timeouts and backoff."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field, field_validator

_TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


class KafkaSettings(BaseModel):
    """The `kafka` section of Settings (env SETTLE_KAFKA__...)."""

    enabled: bool = Field(
        default=False, description="Whether `settle run` also runs the Kafka publisher."
    )
    bootstrap_servers: str = Field(
        default="127.0.0.1:9092", description="Comma-separated host:port list."
    )
    client_id: str = Field(default="settlement-ledger", min_length=1, max_length=200)
    topic_prefix: str = Field(default="settlement-ledger", min_length=1, max_length=200)
    topics: dict[str, str] = Field(
        default_factory=dict,
        description="Aggregate type name (e.g. PeerAccount) -> topic; others use the prefix.",
    )
    telemetry_topic: str = "settlement-ledger.telemetry.v1"
    publish_telemetry: bool = True
    enable_idempotence: bool = True
    request_timeout_ms: int = Field(default=5000, ge=100)
    delivery_timeout_ms: int = Field(default=15000, ge=100)
    max_block_ms: int = Field(default=5000, ge=100)
    initial_backoff_ms: int = Field(default=200, ge=1)
    max_backoff_ms: int = Field(default=10000, ge=1)
    batch_size: int = Field(default=500, ge=1, le=100_000, description="Events per publish.")
    consumer_session_timeout_ms: int = Field(default=6000, ge=1000)
    consumer_heartbeat_interval_ms: int = Field(default=1000, ge=100)
    consumer_poll_timeout_ms: int = Field(default=500, ge=10)
    consumer_max_poll_records: int = Field(default=500, ge=1, le=100_000)

    @field_validator("bootstrap_servers")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        servers = [part.strip() for part in value.split(",")]
        for server in servers:
            host, _, port = server.rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"{server!r} is not host:port")
        return ",".join(servers)

    @property
    def servers(self) -> list[str]:
        return self.bootstrap_servers.split(",")

    @field_validator("topics")
    @classmethod
    def _valid_topic_names(cls, value: dict[str, str]) -> dict[str, str]:
        for aggregate_type, topic in value.items():
            if not _TOPIC_NAME.match(topic):
                raise ValueError(f"topic {topic!r} for {aggregate_type} is not a valid topic name")
        return value

    @field_validator("telemetry_topic", "topic_prefix")
    @classmethod
    def _valid_topic(cls, value: str) -> str:
        if not _TOPIC_NAME.match(value):
            raise ValueError(f"{value!r} is not a valid topic name")
        return value

    def topic_for(self, aggregate_type: str) -> str:
        """The topic that carries the events of `aggregate_type` (e.g. 'PeerAccount')."""
        configured = self.topics.get(aggregate_type)
        if configured:
            return configured
        return f"{self.topic_prefix}.{_kebab(aggregate_type)}.v1"
