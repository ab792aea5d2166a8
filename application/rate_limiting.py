"""Token-bucket rate limits: per peer, per API client and in total, for each kind of request.

A request takes one token from every bucket that applies to it (the total, its client's, its
peer's) or from none: if any bucket is short, nothing is taken and the caller learns how long to
wait. Buckets live in this process only (two instances each allow the configured rate), are
created on first use and the least recently used are forgotten past `max_buckets`, so the state
kept is bounded whatever keys a flood invents. The clock is injected (monotonic seconds).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class RequestKind(StrEnum):
    PACKETS = "packets"  # packet batches from a connector
    CLAIMS = "claims"  # claims a peer sends us
    SETTLEMENTS = "settlements"  # settlement requests


class Rate(BaseModel):
    """A sustained rate (tokens per second) and the burst a full bucket allows."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    per_second: float = Field(gt=0, le=1_000_000)
    burst: int = Field(ge=1, le=10_000_000)


def _rates(packets: Rate, claims: Rate, settlements: Rate) -> dict[RequestKind, Rate]:
    return {
        RequestKind.PACKETS: packets,
        RequestKind.CLAIMS: claims,
        RequestKind.SETTLEMENTS: settlements,
    }


class RateLimitSettings(BaseModel):
    """The limits; `peers` overrides the per-peer rates of named peers (by peer id)."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    total: Rate = Field(
        default=Rate(per_second=2000, burst=4000), description="All limited requests together."
    )
    per_client: dict[RequestKind, Rate] = Field(
        default_factory=lambda: _rates(
            Rate(per_second=200, burst=400),
            Rate(per_second=50, burst=100),
            Rate(per_second=5, burst=10),
        ),
        description="Each API client (by its configured name), per kind of request.",
    )
    per_peer: dict[RequestKind, Rate] = Field(
        default_factory=lambda: _rates(
            Rate(per_second=100, burst=200),
            Rate(per_second=20, burst=40),
            Rate(per_second=2, burst=5),
        ),
        description="Each peer (named in the path or the claim), per kind of request.",
    )
    peers: dict[str, dict[RequestKind, Rate]] = Field(
        default_factory=dict, description="peer id -> kind -> rate, replacing `per_peer`."
    )
    max_buckets: int = Field(default=100_000, ge=100, description="Buckets kept at most.")
    log_interval_seconds: float = Field(
        default=10.0, ge=0, description="At most one log line per limited client this often."
    )


class TokenBucket:
    """`burst` tokens, refilled at `per_second`; not thread-safe (the limiter locks)."""

    __slots__ = ("burst", "per_second", "tokens", "updated")

    def __init__(self, rate: Rate, now: float) -> None:
        self.per_second = rate.per_second
        self.burst = float(rate.burst)
        self.tokens = float(rate.burst)
        self.updated = now

    def refill(self, now: float) -> None:
        elapsed = max(now - self.updated, 0.0)
        self.tokens = min(self.burst, self.tokens + elapsed * self.per_second)
        self.updated = now

    def wait(self) -> float:
        """Seconds until one token is there (0 if one is there now); call after `refill`."""
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.per_second


@dataclass(frozen=True)
class Limited:
    """A refused request: which bucket ran out (scope and key) and when to retry."""

    kind: RequestKind
    scope: str  # "total", "client" or "peer"
    key: str
    retry_after: float

    @property
    def retry_after_seconds(self) -> int:
        """What a Retry-After header says: whole seconds, at least 1."""
        return max(1, math.ceil(self.retry_after))


class RateLimiter:
    def __init__(
        self, settings: RateLimitSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: OrderedDict[tuple[str, str, str], TokenBucket] = OrderedDict()

    def admit(self, kind: RequestKind, client: str | None, peer: str | None) -> Limited | None:
        """Takes a token from each applicable bucket and returns None, or takes none and
        returns the refusal naming the bucket that must wait longest."""
        if not self.settings.enabled:
            return None
        wanted: list[tuple[str, str, Rate]] = [("total", "", self.settings.total)]
        if client is not None and kind in self.settings.per_client:
            wanted.append(("client", client, self.settings.per_client[kind]))
        peer_rate = self._peer_rate(kind, peer)
        if peer is not None and peer_rate is not None:
            wanted.append(("peer", peer, peer_rate))
        with self._lock:
            now = self._clock()
            buckets = [
                (scope, key, self._bucket(kind, scope, key, rate, now))
                for scope, key, rate in wanted
            ]
            worst: Limited | None = None
            for scope, key, bucket in buckets:
                bucket.refill(now)
                wait = bucket.wait()
                if wait > 0 and (worst is None or wait > worst.retry_after):
                    worst = Limited(kind, scope, key, wait)
            if worst is None:
                for _, _, bucket in buckets:
                    bucket.tokens -= 1.0
            return worst

    def _peer_rate(self, kind: RequestKind, peer: str | None) -> Rate | None:
        if peer is not None and peer in self.settings.peers:
            override = self.settings.peers[peer].get(kind)
            if override is not None:
                return override
        return self.settings.per_peer.get(kind)

    def _bucket(
        self, kind: RequestKind, scope: str, key: str, rate: Rate, now: float
    ) -> TokenBucket:
        # The total is one bucket for every kind: it bounds the node's whole intake.
        name = ("", scope, "") if scope == "total" else (kind.value, scope, key)
        bucket = self._buckets.get(name)
        if bucket is None:
            bucket = self._buckets[name] = TokenBucket(rate, now)
            if len(self._buckets) > self.settings.max_buckets:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(name)
        return bucket

    @property
    def bucket_count(self) -> int:
        return len(self._buckets)


class LogThrottle:
    """Whether to log a limited client now: once per `interval` per client, counting the
    refusals in between so the line says how many it stands for. Bounded like the buckets."""

    def __init__(
        self, interval: float, max_keys: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._interval = interval
        self._max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def due(self, key: str) -> int:
        """The number of refusals the line stands for (including this one), or 0: no line."""
        with self._lock:
            now = self._clock()
            last = self._seen.get(key)
            if last is not None and now - last[0] < self._interval:
                self._seen[key] = (last[0], last[1] + 1)
                return 0
            self._seen[key] = (now, 0)
            self._seen.move_to_end(key)
            if len(self._seen) > self._max_keys:
                self._seen.popitem(last=False)
            return 1 + (last[1] if last is not None else 0)
