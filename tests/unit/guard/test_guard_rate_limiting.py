"""Token buckets and the limiter: refill, all-or-nothing admission, Retry-After, overrides and the
bound on state; the API's request classification."""

from __future__ import annotations

from application.rate_limiting import (
    LogThrottle,
    Rate,
    RateLimiter,
    RateLimitSettings,
    RequestKind,
)
from entrypoints.http.api.rate_limits import classify

PACKETS = RequestKind.PACKETS


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _limiter(clock: Clock, **changes: object) -> RateLimiter:
    settings = RateLimitSettings(
        total=Rate(per_second=1000, burst=1000),
        per_client={PACKETS: Rate(per_second=2, burst=3)},
        per_peer={PACKETS: Rate(per_second=1000, burst=1000)},
    ).model_copy(update=changes)
    return RateLimiter(settings, clock)


def test_a_client_gets_its_burst_then_is_limited_with_the_wait_for_one_token() -> None:
    clock = Clock()
    limiter = _limiter(clock)
    assert [limiter.admit(PACKETS, "c", "p") for _ in range(3)] == [None, None, None]
    refused = limiter.admit(PACKETS, "c", "p")
    assert refused is not None
    assert (refused.scope, refused.key, refused.kind) == ("client", "c", PACKETS)
    assert refused.retry_after == 0.5  # one token at 2 per second
    assert refused.retry_after_seconds == 1


def test_tokens_refill_at_the_rate_and_never_past_the_burst() -> None:
    clock = Clock()
    limiter = _limiter(clock)
    for _ in range(3):
        limiter.admit(PACKETS, "c", "p")
    clock.now += 0.5
    assert limiter.admit(PACKETS, "c", "p") is None
    assert limiter.admit(PACKETS, "c", "p") is not None
    clock.now += 3600
    assert [limiter.admit(PACKETS, "c", "p") is None for _ in range(4)] == [True] * 3 + [False]


def test_one_client_flooding_leaves_another_clients_bucket_full() -> None:
    clock = Clock()
    limiter = _limiter(clock)
    for _ in range(10):
        limiter.admit(PACKETS, "flood", "p")
    assert limiter.admit(PACKETS, "calm", "p") is None


def test_a_refused_request_takes_no_token_from_any_bucket() -> None:
    clock = Clock()
    limiter = _limiter(clock, total=Rate(per_second=1, burst=5))
    for _ in range(3):
        limiter.admit(PACKETS, "c", "p")
    for _ in range(10):
        assert limiter.admit(PACKETS, "c", "p") is not None  # the client's bucket is empty
    # The total bucket gave only the three admitted requests: two are left for another client.
    assert [limiter.admit(PACKETS, "d", "p") is None for _ in range(3)] == [True, True, False]


def test_the_total_limit_binds_every_client_together() -> None:
    clock = Clock()
    limiter = _limiter(clock, total=Rate(per_second=1, burst=2))
    assert limiter.admit(PACKETS, "a", "p") is None
    assert limiter.admit(RequestKind.CLAIMS, "b", "q") is None
    refused = limiter.admit(PACKETS, "c", "r")
    assert refused is not None and refused.scope == "total"


def test_a_peer_override_replaces_the_per_peer_rate() -> None:
    clock = Clock()
    limiter = _limiter(clock, per_client={}, peers={"slow": {PACKETS: Rate(per_second=1, burst=1)}})
    assert limiter.admit(PACKETS, "c", "slow") is None
    refused = limiter.admit(PACKETS, "c", "slow")
    assert refused is not None and (refused.scope, refused.key) == ("peer", "slow")
    assert limiter.admit(PACKETS, "c", "fast") is None


def test_disabled_limits_admit_everything() -> None:
    limiter = _limiter(Clock(), enabled=False)
    assert all(limiter.admit(PACKETS, "c", "p") is None for _ in range(100))


def test_buckets_kept_are_bounded_whatever_keys_arrive() -> None:
    limiter = _limiter(Clock(), max_buckets=100)
    for index in range(1000):
        limiter.admit(PACKETS, f"client-{index}", f"peer-{index}")
    assert limiter.bucket_count <= 100


def test_the_log_throttle_logs_once_per_interval_and_counts_what_it_skipped() -> None:
    clock = Clock()
    throttle = LogThrottle(10.0, 100, clock)
    assert throttle.due("c") == 1
    assert [throttle.due("c") for _ in range(4)] == [0, 0, 0, 0]
    assert throttle.due("other") == 1
    clock.now += 10
    assert throttle.due("c") == 5


def test_requests_are_classified_by_method_and_path() -> None:
    assert classify("POST", "/v1/peers/bob/assets/USD/packet-batches") == (PACKETS, "bob")
    assert classify("POST", "/v1/peers/bob/assets/USD/settlements") == (
        RequestKind.SETTLEMENTS,
        "bob",
    )
    assert classify("POST", "/claims/node-b") == (RequestKind.CLAIMS, "node-b")
    assert classify("POST", "/v1/peers/bob/assets/USD/claims") == (RequestKind.CLAIMS, "bob")
    assert classify("GET", "/v1/peers/bob/assets/USD/packet-batches") is None
    assert classify("POST", "/v1/peers/bob/assets/USD/pause") is None
