"""Engine-instructed settlements the executor gave up on are tried again (RFC 0038 "Retrying
failed settlements": the engine MUST track the amount and retry it later; the connector already
debited its books and is not refunded).

A settlement the connector instructed is keyed `rfc0038:<request>`; its n-th retry is
`rfc0038:<request>:retry:<n>`. When one ends with its reservation released to payable (failed,
timed out, or dead-lettered before any proof was out), the next retry is due at its end time
plus an exponential backoff with jitter, at most an hour apart, for ever. Both the retry number
(in the key) and the end time are recorded, and the jitter is drawn from the settlement's id, so
the schedule is decided from recorded events alone and comes out the same after a restart or a
rebuild. Settlements the node asks for itself (its threshold) are not retried here: their amount
goes back to payable and the threshold decides again, as before.
"""

from __future__ import annotations

import random
from datetime import datetime
from uuid import UUID

from application.engine_notices import retry_interval

ENGINE_PREFIX = "rfc0038:"
_RETRY = ":retry:"
RETRY_BATCH = 50


def retry_number(settlement_key: str) -> int:
    """0 for the instructed settlement itself, n for its n-th retry."""
    _, _, number = settlement_key.partition(_RETRY)
    return int(number) if number.isdigit() else 0


def retry_key(settlement_key: str) -> str | None:
    """The key of the next retry of an engine-instructed settlement; None for any other."""
    if not settlement_key.startswith(ENGINE_PREFIX):
        return None
    request = settlement_key.partition(_RETRY)[0]
    return f"{request}{_RETRY}{retry_number(settlement_key) + 1}"


def retry_due_at(ended_at: datetime, settlement_key: str, settlement_id: UUID) -> datetime:
    """When the retry of a settlement that ended at `ended_at` is due: the backoff grows with
    its retry number, jittered by its id (the same answer every time it is asked)."""
    rng = random.Random(settlement_id.int)  # nosec B311 - retry jitter, not security
    return ended_at + retry_interval(retry_number(settlement_key), rng)
