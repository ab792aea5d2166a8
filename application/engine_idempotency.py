"""The port for idempotent requests (RFC 0038 "Idempotence"): the first request under a key
records its fingerprint; a later one under the same key gets the recorded response back, or a
conflict when its fingerprint differs. Responses are kept at least `retention` after the key was
last used."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: bytes
    content_type: str


@dataclass(frozen=True)
class KeyState:
    """What the store knew of a key when a request came: `conflict` if it was first used with
    another fingerprint; `response` if a response was recorded (answer it again)."""

    conflict: bool
    response: StoredResponse | None


class IdempotencyKeyReused(Exception):
    """The key was first used with another request (409)."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"Idempotency-Key {key!r} was used before with another request")


class IdempotencyStore(Protocol):
    def begin(self, scope: str, key: str, fingerprint: str, at: datetime) -> KeyState:
        """Records the key with `fingerprint` if new, marks it used at `at`, and says what is
        known of it."""
        ...

    def finish(self, scope: str, key: str, response: StoredResponse) -> None:
        """Records the response given under the key (the first one recorded stays)."""
        ...

    def purge(self, before: datetime) -> int:
        """Forgets keys last used before `before`; how many."""
        ...
