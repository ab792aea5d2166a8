"""The statuses of a settlement and the one order its happy path takes.

Kept apart from the aggregate so that read models and processes can name a status without the
aggregate's machinery; `domain.settlement` re-exports them.
"""

from __future__ import annotations

from enum import StrEnum


class SettlementStatus(StrEnum):
    REQUESTED = "requested"
    CHANNEL_READY = "channel_ready"
    PROOF_SIGNED = "proof_signed"
    DELIVERED = "delivered"
    # The amount is applied to the books (the account's in-flight goes out); the double-entry
    # ledger posts it after, and the settlement completes once the ledger has caught up.
    APPLIED = "applied"
    COMPLETED = "completed"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    DEAD_LETTERED = "dead_lettered"


TERMINAL = frozenset(
    {
        SettlementStatus.COMPLETED,
        SettlementStatus.FAILED,
        SettlementStatus.TIMED_OUT,
        SettlementStatus.DEAD_LETTERED,
    }
)

NEXT_STEP = {
    SettlementStatus.REQUESTED: SettlementStatus.CHANNEL_READY,
    SettlementStatus.CHANNEL_READY: SettlementStatus.PROOF_SIGNED,
    SettlementStatus.PROOF_SIGNED: SettlementStatus.DELIVERED,
    SettlementStatus.DELIVERED: SettlementStatus.APPLIED,
    SettlementStatus.APPLIED: SettlementStatus.COMPLETED,
}
