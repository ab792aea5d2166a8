"""Value types shared by the channel aggregate and its parts: its states, the verdict on a
partner's balance proof, and the key under which an on-chain log is recorded as observed.

Kept apart from `domain/channel.py` so the parts (`channel_chain_facts`, `channel_balance_proofs`,
`channel_transactions`) can use them without importing the aggregate they are mixed into.
"""

from __future__ import annotations

from enum import StrEnum


class ChannelState(StrEnum):
    OPEN_REQUESTED = "open_requested"
    OPENED = "opened"
    CLOSED = "closed"
    SETTLED = "settled"
    FAILED = "failed"


class ProofVerdict(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    STALE = "stale"  # recorded as a suspected double spend


def log_key(tx_hash: str, log_index: int) -> str:
    return f"{tx_hash.lower()}:{log_index}"
