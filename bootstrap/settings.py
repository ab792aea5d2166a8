"""Configuration: one pydantic settings object, read from the environment and a TOML file.

Environment variables use the prefix SETTLE_ (nested sections with a double underscore,
e.g. SETTLE_LEDGER__BACKEND); DATABASE_URL is also read without the prefix. A TOML file
(`SETTLE_CONFIG_FILE`, default `settle.toml` in the working directory when it exists; `settle init`
writes one) gives the same settings as tables; the environment wins over the file.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import psycopg.conninfo
from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from adapters.evm.settings import ChainSettings
from adapters.kafka.settings import KafkaSettings
from adapters.ledger.settings import LedgerSettings
from application.fraud import FraudSettings
from application.packet_settings import PacketSettings
from application.rails.config import RailsSettings
from application.settings import (
    AuditSettings,
    ClaimsSettings,
    EngineSettings,
    ReconciliationSettings,
    SettlementPolicySettings,
)
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
    reconciliation: ReconciliationSettings = ReconciliationSettings()
    audit: AuditSettings = AuditSettings()
    engine: EngineSettings = EngineSettings()
    fraud: FraudSettings = FraudSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then the TOML file: earlier ones win."""
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file())
        return init_settings, env_settings, toml, file_secret_settings

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


def config_file() -> Path | None:
    """The TOML file to read: SETTLE_CONFIG_FILE, else ./settle.toml when it exists."""
    named = os.environ.get("SETTLE_CONFIG_FILE")
    if named:
        return Path(named)
    default = Path("settle.toml")
    return default if default.exists() else None


# SETTLE_ variables read by name outside the settings object (keys, failpoints, the file).
_OTHER_VARIABLES = {
    "SETTLE_CONFIG_FILE",
    "SETTLE_FAILPOINTS",
    "SETTLE_CHAIN_KEYSTORE_PASSWORD",
    "SETTLE_API_TOKEN",  # `settle rails --node`: the token for a running node's API
}


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """SETTLE_ variables that name no setting: most likely a typo, which would be ignored."""
    env = os.environ if environ is None else environ
    known = {name.upper() for name in Settings.model_fields}
    chain = Settings.model_fields["chain"].default
    extra = _OTHER_VARIABLES | {str(chain.private_key_env), str(chain.keystore_password_env)}
    found = []
    for name in sorted(env):
        if not name.startswith("SETTLE_") or name in extra:
            continue
        if name.removeprefix("SETTLE_").split("__")[0] not in known:
            found.append(name)
    return found


# The placeholder .env.example ships for every secret: a node must never run on it.
PLACEHOLDER_SECRET = "change-me"  # nosec B105 - refused, not used


def _is_placeholder(secret: str) -> bool:
    return secret.strip() == "" or PLACEHOLDER_SECRET in secret.lower()


def placeholder_secrets(settings: Settings, environ: Mapping[str, str] | None = None) -> list[str]:
    """The secrets still empty or `change-me`, one "VARIABLE: problem" line each; never a value."""
    env = os.environ if environ is None else environ
    found = []
    if settings.database_url:
        password = psycopg.conninfo.conninfo_to_dict(settings.database_url).get("password")
        if password is not None and _is_placeholder(str(password)):
            found.append("DATABASE_URL: its password is empty or the placeholder 'change-me'")
    for peer, token in sorted(settings.claims.tokens.items()):
        if _is_placeholder(token.get_secret_value()):
            found.append(f"SETTLE_CLAIMS__TOKENS: peer {peer}'s token is empty or 'change-me'")
    placeholders = {hashlib.sha256(text.encode()).hexdigest() for text in ("", PLACEHOLDER_SECRET)}
    for name, client in sorted(settings.api.clients.items()):
        if client.token_sha256.lower() in placeholders:
            found.append(f"SETTLE_API__CLIENTS: client {name}'s token is empty or 'change-me'")
    connector = settings.engine.connector_token
    if connector is not None and _is_placeholder(connector.get_secret_value()):
        found.append("SETTLE_ENGINE__CONNECTOR_TOKEN: is empty or the placeholder 'change-me'")
    chain = settings.chain
    named = {"keystore": chain.keystore_password_env, "pkcs11": chain.pkcs11_pin_env}
    variable = named.get(chain.key_source)
    if variable is not None and PLACEHOLDER_SECRET in env.get(variable, "").lower():
        found.append(f"{variable}: is the placeholder 'change-me'")
    return found


def load_settings(**overrides: object) -> Settings:
    """Reads settings from the environment and the TOML file; raises ConfigurationError naming
    the setting (a missing named file, a malformed one, a value that is not valid JSON, a
    secret still empty or `change-me`: the first one found)."""
    settings = _read_settings(**overrides)
    refused = placeholder_secrets(settings)
    if refused:
        variable, _, problem = refused[0].partition(": ")
        raise ConfigurationError(variable, problem)
    return settings


def _read_settings(**overrides: object) -> Settings:
    path = config_file()
    if path is not None and os.environ.get("SETTLE_CONFIG_FILE") and not path.exists():
        raise ConfigurationError("SETTLE_CONFIG_FILE", f"{path} does not exist")
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except SettingsError as error:
        field = re.search(r'field "([^"]+)"', str(error))
        name = "SETTLE_" + field.group(1).upper() if field else "settings"
        raise ConfigurationError(name, "is not valid JSON (or TOML) for this setting") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(str(path), f"is not valid TOML: {error}") from None
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"]) or "settings"
        env_name = location.upper()
        if env_name != "DATABASE_URL":
            env_name = "SETTLE_" + env_name.replace(".", "__")
        raise ConfigurationError(env_name, first["msg"]) from None
