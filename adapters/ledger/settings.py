"""Ledger configuration: which backend, and how to reach TigerBeetle."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator


class LedgerSettings(BaseModel):
    backend: Literal["postgres", "tigerbeetle"] = "postgres"
    cluster_id: int = Field(default=0, ge=0, lt=2**128)
    replica_addresses: str = Field(
        default="127.0.0.1:3000",
        description="Comma-separated host:port (or port) of every TigerBeetle replica.",
    )
    request_deadline_seconds: float = Field(default=5.0, gt=0, le=300)
    asset_ledgers: dict[str, int] = Field(
        default_factory=dict,
        description="Ledger number per asset code, for codes longer than 4 characters.",
    )

    @field_validator("replica_addresses")
    @classmethod
    def _addresses(cls, value: str) -> str:
        parts = [part.strip() for part in value.split(",")]
        for part in parts:
            port = part.rsplit(":", 1)[-1]
            if not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{part!r} is not host:port or port")
        return ",".join(parts)

    @field_validator("asset_ledgers")
    @classmethod
    def _ledger_numbers(cls, value: dict[str, int]) -> dict[str, int]:
        for asset, number in value.items():
            if not 0 < number < 2**32:
                raise ValueError(f"ledger for {asset!r} must be between 1 and 2**32-1")
        if len(set(value.values())) != len(value):
            raise ValueError("two assets share a ledger number")
        return value
