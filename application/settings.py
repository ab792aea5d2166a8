"""Configuration: one pydantic settings object, read from the environment and passed in.

Environment variables use the prefix SETTLE_ (nested sections with a double underscore,
e.g. SETTLE_LEDGER__BACKEND); DATABASE_URL is also read without the prefix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import psycopg.conninfo
from pydantic import AliasChoices, BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from adapters.evm.settings import ChainSettings
from adapters.kafka.settings import KafkaSettings
from adapters.ledger.settings import LedgerSettings
from application.rails.config import RailsSettings


class SettlementPolicySettings(BaseModel):
    """How settlements are retried and when they count as stuck."""

    max_attempts: int = Field(default=3, ge=1, le=100)
    initial_backoff_ms: int = Field(default=100, ge=1)
    max_backoff_ms: int = Field(default=5000, ge=1)
    stuck_after_seconds: int = Field(default=300, ge=1)
    stuck_action: Literal["resume", "time_out"] = "resume"
    workers: int = Field(default=4, ge=1, le=64)
    queue_size: int = Field(default=256, ge=1)
    provision_on_registration: bool = Field(
        default=True,
        description="Open a channel when a peer registers, not at its first settlement.",
    )
    onchain_mode: Literal["off", "cooperative"] = Field(
        default="off",
        description="cooperative: each settlement also ends its channel on chain, cooperatively.",
    )
    deposit_multiple: int = Field(
        default=3, ge=1, description="Channel deposits (initial and top-up headroom) in thresholds."
    )


class ClaimsSettings(BaseModel):
    """Where this node receives claims from peers, and the tokens peers authenticate with."""

    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535, description="0 picks a free port.")
    tokens: dict[str, SecretStr] = Field(
        default_factory=dict, description="peer id -> shared bearer token (both directions)."
    )
    timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    pause_on_double_spend: bool = True


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SETTLE_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "SETTLE_DATABASE_URL", "database_url"),
        description="PostgreSQL URL; unset means an embedded server under data_dir.",
    )
    data_dir: Path = Field(default=Path("var"), description="Where embedded servers keep data.")
    database_name: str = Field(default="settlement", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    node_id: str = Field(default="node-a", min_length=1, max_length=64)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["console", "json"] = "console"
    projection_batch_size: int = Field(default=500, ge=1, le=100_000)
    settlement: SettlementPolicySettings = SettlementPolicySettings()
    ledger: LedgerSettings = LedgerSettings()
    kafka: KafkaSettings = KafkaSettings()
    chain: ChainSettings = ChainSettings()
    rails: RailsSettings = RailsSettings()
    claims: ClaimsSettings = ClaimsSettings()

    @field_validator("database_url")
    @classmethod
    def _parseable_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            psycopg.conninfo.conninfo_to_dict(value)
        except psycopg.ProgrammingError as error:
            raise ValueError("is not a valid PostgreSQL connection URL") from error
        return value


class ConfigurationError(Exception):
    """Bad configuration, with the setting named; the CLI exits 2 on it."""

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        self.problem = problem
        super().__init__(f"configuration error: {setting}: {problem}")


def load_settings(**overrides: object) -> Settings:
    """Reads settings from the environment; raises ConfigurationError naming the setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"]) or "settings"
        env_name = location.upper()
        if env_name != "DATABASE_URL":
            env_name = "SETTLE_" + env_name.replace(".", "__")
        raise ConfigurationError(env_name, first["msg"]) from None
