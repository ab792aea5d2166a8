"""How large one packet batch may be, and how long its id is remembered.

A batch is recorded as one event, so its size bounds a row, a transaction and the memory of
everything that reads the event back. The entries bound is capped by the domain's ceiling.
Batch ids are remembered for the idempotency window (see `application.batch_index`): a batch
made before it is refused, so it must be longer than any connector retries a batch.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from domain.peer_account import MAX_BATCH_ENTRIES

MAX_BATCH_BYTES = 64 * 2**20
"""The most bytes of input the limit may be raised to."""


class PacketSettings(BaseModel):
    """Limits on one batch of packet postings; a batch past either is refused whole."""

    model_config = ConfigDict(extra="forbid")

    max_batch_entries: int = Field(
        default=10_000,
        ge=1,
        le=MAX_BATCH_ENTRIES,
        description="Most entries in one batch.",
    )
    max_batch_bytes: int = Field(
        default=4 * 2**20,
        ge=1,
        le=MAX_BATCH_BYTES,
        description="Most bytes of batch input (JSON) read for one batch.",
    )
    idempotency_window_hours: int = Field(
        default=24,
        ge=24,
        le=24 * 366,
        description="How long a batch id is remembered; a batch made earlier is refused.",
    )
