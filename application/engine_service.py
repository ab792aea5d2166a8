"""The RFC 0038 settlement engine's use cases as the HTTP routes call them: accounts, idempotent
settlement requests and messages from the peer's engine.

A settlement request runs under its Idempotency-Key: the key is recorded with the request's
canonical-JSON fingerprint before the command runs and the response after it, so a retry gets
the same status and body, and another request under the key a conflict. The command itself is
idempotent per key too (the engine account remembers the key), so a crash between the two
records repeats nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from application.app import SettlementApp
from application.engine_idempotency import IdempotencyKeyReused, IdempotencyStore, StoredResponse
from application.engine_quantity import InvalidQuantity, Quantity
from domain.fingerprint import canonical_json, fingerprint
from domain.money import Asset

MAX_KEY_LENGTH = 255
PURGE_EVERY = timedelta(minutes=1)

MessageHandler = Callable[[str, bytes], bytes]
"""Answers a message from the peer's engine for an account: raw bytes in, raw bytes out."""


@dataclass(frozen=True)
class EngineTerms:
    """The asset the engine settles, the terms of the peer accounts it opens (the threshold
    sizes channel deposits; the credit limit bounds what peers may owe us, and so what their
    claims may credit) and how long idempotency keys are kept (RFC 0038: at least 24 h)."""

    asset: Asset
    threshold: int
    credit_limit: int
    keep_keys: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        if self.keep_keys < timedelta(hours=24):
            raise ValueError("keep_keys: RFC 0038 requires keys kept for at least 24 hours")


class SettlementEngine:
    def __init__(
        self,
        app: SettlementApp,
        keys: IdempotencyStore,
        terms: EngineTerms,
        clock: Callable[[], datetime],
        messages: MessageHandler,
    ) -> None:
        self.app = app
        self.keys = keys
        self.terms = terms
        self.clock = clock
        self.messages = messages
        self._purged_at: datetime | None = None

    def set_up_account(self, account_id: str) -> bool:
        terms = self.terms
        return self.app.open_engine_account(
            account_id, terms.asset, terms.threshold, terms.credit_limit
        )

    def delete_account(self, account_id: str) -> None:
        self.app.delete_engine_account(account_id, self.clock())

    def settle(self, account_id: str, key: str, quantity: Quantity) -> StoredResponse:
        """Settles `quantity` once per key: the response of the first request, again."""
        check_key(key)
        engine = self.app.engine_account(account_id)  # an unknown account is 404, not stored
        now = self.clock()
        self._purge(now)
        request = {"account": account_id, "quantity": quantity.as_json()}
        state = self.keys.begin("settlements", key, fingerprint(request), now)
        if state.conflict:
            raise IdempotencyKeyReused(key)
        if state.response is not None:
            return state.response
        done = self.app.instruct_engine_settlement(
            account_id, key, quantity, now, self.terms.keep_keys
        )
        body = {"amount": str(done.settled), "scale": engine.asset_scale}
        response = StoredResponse(201, canonical_json(body).encode(), "application/json")
        self.keys.finish("settlements", key, response)
        return response

    def receive_message(self, account_id: str, message: bytes) -> bytes:
        self.app.engine_account(account_id)
        return self.messages(account_id, message)

    def _purge(self, now: datetime) -> None:
        if self._purged_at is None or now - self._purged_at >= PURGE_EVERY:
            self._purged_at = now
            self.keys.purge(now - self.terms.keep_keys)


def check_key(key: str | None) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise InvalidQuantity(
            "Idempotency-Key", f"header is required: 1 to {MAX_KEY_LENGTH} printable characters"
        )
    return key
