"""What crosses the HTTP edge: request and response bodies as pydantic models.

Amounts are JSON integers in minor units, validated strictly (a float or a string is refused),
never above 2**128-1.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.money import MAX_AMOUNT

Amount = int
_STRICT = ConfigDict(extra="forbid", strict=True)


class PacketIn(BaseModel):
    model_config = _STRICT
    packet_id: str = Field(min_length=1, max_length=128)
    direction: Literal["incoming", "outgoing"]
    amount: Amount = Field(gt=0, le=MAX_AMOUNT)


class PacketBatchIn(BaseModel):
    """One batch of packet postings; `batch_id` makes recording it idempotent."""

    model_config = _STRICT
    batch_id: str = Field(min_length=1, max_length=128)
    entries: list[PacketIn] = Field(min_length=1)
    made_at: AwareDatetime | None = Field(
        default=None,
        strict=False,  # an RFC 3339 string, as JSON has no time type
        description="When the connector made the batch (RFC 3339, with offset); the time the"
        " request arrives if absent. A batch made before the idempotency window"
        " (packets.idempotency_window_hours) or in the future is refused (422).",
    )


class PacketBatchOut(BaseModel):
    """The batch as recorded; a replay of the same batch gets exactly these bytes again."""

    batch_id: str
    incoming_total: Amount
    outgoing_total: Amount
    payable: Amount
    receivable: Amount
    threshold_crossed: bool


class PauseIn(BaseModel):
    model_config = _STRICT
    reason: str = Field(min_length=1, max_length=500)


class ThresholdIn(BaseModel):
    model_config = _STRICT
    threshold: Amount = Field(gt=0, le=MAX_AMOUNT)
    settle_to: Amount = Field(ge=0, le=MAX_AMOUNT)


class CreditLimitIn(BaseModel):
    model_config = _STRICT
    credit_limit: Amount = Field(ge=0, le=MAX_AMOUNT)


class AccountOut(BaseModel):
    peer_id: str
    asset_code: str
    asset_scale: int
    payable: Amount
    receivable: Amount
    in_flight: Amount
    threshold: Amount
    settle_to: Amount
    credit_limit: Amount
    paused: bool
    paused_reason: str | None


class BalanceOut(BaseModel):
    peer_id: str
    asset_code: str
    asset_scale: int
    payable: Amount
    receivable: Amount
    in_flight: Amount
    paused: bool
    last_settlement_id: UUID | None
    last_settlement_at: datetime | None


class ChannelOut(BaseModel):
    channel_id: UUID
    peer_id: str
    asset_code: str
    chain_id: int
    token_network: str
    onchain_id: str | None
    state: str
    our_deposit: Amount
    partner_deposit: Amount
    our_nonce: int
    our_transferred: Amount
    partner_nonce: int
    partner_transferred: Amount
    updated_at: datetime


class SettlementOut(BaseModel):
    settlement_id: UUID
    peer_id: str
    asset_code: str
    amount: Amount
    status: str
    attempts: int
    rail: str | None
    tx_hash: str | None
    last_error: str | None
    resolution: str | None
    requested_at: datetime
    updated_at: datetime
    completed_at: datetime | None


class EventOut(BaseModel):
    version: int
    event: str
    recorded_at: datetime
    payload: dict[str, Any]


class BalancePage(BaseModel):
    items: list[BalanceOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class ChannelPage(BaseModel):
    items: list[ChannelOut]
    next_cursor: str | None


class SettlementPage(BaseModel):
    items: list[SettlementOut]
    next_cursor: str | None


class HistoryPage(BaseModel):
    aggregate_id: UUID
    items: list[EventOut]
    next_cursor: str | None


class Health(BaseModel):
    status: Literal["alive"]


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    version: str
    database: Literal["reachable", "unreachable"]
    head_position: int | None
    follower_lag: dict[str, int] = Field(description="events each follower is behind the head")
    dependencies: dict[str, str] = Field(
        default_factory=dict,
        description="each dependency (ledger, rail:NAME, kafka): up, or down with the reason",
    )


class FieldError(BaseModel):
    field: str = Field(description="The field at fault, e.g. entries[3].amount or Authorization.")
    in_: Literal["body", "query", "path", "header"] = Field(alias="in")
    problem: str


class Problem(BaseModel):
    """An error (RFC 9457), served as application/problem+json."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError]
