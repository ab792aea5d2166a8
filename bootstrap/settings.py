"""Configuration: one pydantic settings object, read from the environment and passed in.

Environment variables use the prefix SETTLE_ (nested sections with a double underscore,
e.g. SETTLE_LEDGER__BACKEND); DATABASE_URL is also read without the prefix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import psycopg.conninfo
from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from adapters.evm.settings import ChainSettings
from adapters.kafka.settings import KafkaSettings
from adapters.ledger.settings import LedgerSettings
from application.fraud import FraudSettings
from application.packet_settings import PacketSettings
from application.rails.config import RailsSettings
from application.settings import ClaimsSettings, SettlementPolicySettings
from entrypoints.http.api.settings import ApiSettings


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
    packets: PacketSettings = PacketSettings()
    settlement: SettlementPolicySettings = SettlementPolicySettings()
    ledger: LedgerSettings = LedgerSettings()
    kafka: KafkaSettings = KafkaSettings()
    chain: ChainSettings = ChainSettings()
    rails: RailsSettings = RailsSettings()
    claims: ClaimsSettings = ClaimsSettings()
    api: ApiSettings = ApiSettings()
    fraud: FraudSettings = FraudSettings()

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
