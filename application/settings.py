"""The application's own settings sections: how settlements are retried and how claims are
received. The whole settings object, which also holds the adapters' sections, is assembled in
`bootstrap.settings`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class SettlementPolicySettings(BaseModel):
    """How settlements are retried and when they count as stuck.

    Retryable failures (peer unreachable, RPC down, 5xx) back off from `initial_backoff_ms`,
    doubling up to `max_backoff_ms` with jitter, for `retry_for_seconds` after the request; only
    then is the settlement dead-lettered. Non-retryable failures end it at once."""

    initial_backoff_ms: int = Field(default=5_000, ge=1)
    max_backoff_ms: int = Field(default=300_000, ge=1, description="Longest wait between tries.")
    retry_for_seconds: int = Field(
        default=86_400, ge=0, description="How long a settlement is retried before dead-lettering."
    )
    max_attempts: int | None = Field(
        default=None, ge=1, description="Optionally also give up after this many attempts."
    )
    stuck_after_seconds: int = Field(default=300, ge=1)
    stuck_action: Literal["resume", "time_out"] = "resume"
    workers: int = Field(default=4, ge=1, le=64)
    queue_size: int = Field(default=256, ge=1)
    scan_interval_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="The executor acts on recorded events at once; this scan is its fallback.",
    )
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
    idempotency_window_hours: int = Field(
        default=24,
        ge=24,
        le=24 * 366,
        description="How long a claim id is remembered once its channel is settled on chain"
        " (while the channel can take proofs, always).",
    )


class ReconciliationSettings(BaseModel):
    """When `settle run` reconciles the books on its own (the leader only; a run never blocks
    recording), and how long a delivered proof may wait for the peer's acknowledgement."""

    interval_seconds: int = Field(
        default=0, ge=0, description="Seconds between scheduled runs; 0 turns them off."
    )
    claim_grace_seconds: int = Field(default=900, ge=0)


class AuditSettings(BaseModel):
    """Read-model checkpoints that keep point-in-time queries fast on a long history (the
    leader takes one each time this many events have been recorded since the last)."""

    checkpoint_every_events: int = Field(
        default=100_000, ge=0, description="Events between read-model checkpoints; 0: none."
    )
    checkpoints_kept: int = Field(
        default=64, ge=1, le=10_000, description="Older checkpoints thin out past this many."
    )


class EngineSettings(BaseModel):
    """The RFC 0038 settlement-engine API for a connector that keeps the balances itself."""

    enabled: bool = False
    connector_url: str | None = Field(
        default=None, description="Our connector's engine-facing base URL (incoming credits)."
    )
    connector_token: SecretStr | None = None
    asset_code: str = Field(default="USD", min_length=1, max_length=16)
    asset_scale: int = Field(default=9, ge=0, le=38)
    threshold: int = Field(default=1_000_000_000, gt=0)
    credit_limit: int = Field(default=10**15, ge=0)
    keep_keys_hours: int = Field(default=24, ge=24, description="RFC 0038: at least 24 hours.")
    message_peers: list[str] = Field(
        default_factory=list,
        description="Peers whose claims travel as RFC 0038 messages through the connectors"
        " (needs connector_url) instead of node to node.",
    )
