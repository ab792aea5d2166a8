"""The HTTP API's settings: where it listens, who may call it with which scopes, its limits.

Tokens are never configured in the clear: each client has the SHA-256 (hex) of its bearer token,
so a leaked settings file does not leak a credential.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from application.rate_limiting import RateLimitSettings


class Scope(StrEnum):
    CONNECTOR = "connector"  # records packet batches
    PEER = "peer"  # sends claims (the claims route)
    OPERATOR = "operator"  # pauses, resumes, changes thresholds and credit limits
    READ = "read"  # balances, settlements, channels, history


class ApiClientSettings(BaseModel):
    """One caller: the SHA-256 of its bearer token (64 hex digits) and what it may do."""

    token_sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    scopes: frozenset[Scope] = Field(min_length=1)


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535, description="0 picks a free port.")
    clients: dict[str, ApiClientSettings] = Field(
        default_factory=dict, description="client name -> token hash and scopes."
    )
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, le=64 * 1024 * 1024, description="Larger bodies get 413."
    )
    max_batch_entries: int = Field(
        default=5000, ge=1, le=100_000, description="Larger packet batches get 413."
    )
    rate_limits: RateLimitSettings = Field(
        default_factory=RateLimitSettings, description="Over these, 429 with Retry-After."
    )
    ready_max_lag: int | None = Field(
        default=None,
        ge=0,
        description="/readyz answers 503 when a follower is more events behind; None: never.",
    )
