"""Reads of the past over the API: `at_position` gives the read models as they were at that
position, rebuilt from the events, equal to what they showed then; bad points are 4xx problems."""

from __future__ import annotations

import httpx
from api_service import TOKENS, USD, Service

from domain.peer_account import Direction, PacketEntry


def _get(service: Service, path: str, **params: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {TOKENS['reader']}"}
    return httpx.get(f"{service.url}{path}", params=params, headers=headers, timeout=60)


def test_balances_at_a_past_position_equal_what_the_read_model_showed_then(
    service: Service,
) -> None:
    app = service.node.app
    app.open_peer_account("carol", USD, 10**9, 0, 10**9)
    app.record_packets("carol", "USD", "b1", [PacketEntry("p1", Direction.OUTGOING, 40)])
    service.node.catch_up_read_models()
    then = _get(service, "/v1/balances", peer="carol").json()["items"]
    position = app.new_events.head
    app.record_packets("carol", "USD", "b2", [PacketEntry("p2", Direction.OUTGOING, 2)])
    service.node.catch_up_read_models()

    past = _get(service, "/v1/balances", peer="carol", at_position=position)
    now = _get(service, "/v1/balances", peer="carol")

    assert past.status_code == 200 and past.json()["items"] == then
    assert [r["payable"] for r in past.json()["items"]] == [40]
    assert [r["payable"] for r in now.json()["items"]] == [42]


def test_a_point_beyond_the_log_or_two_points_at_once_is_a_problem_naming_the_field(
    service: Service,
) -> None:
    beyond = _get(service, "/v1/balances", at_position=10**9)
    both = _get(service, "/v1/channels", at_position=1, as_of="2026-01-01T00:00:00+00:00")
    for answer, field in ((beyond, "at_position"), (both, "as_of")):
        assert answer.status_code == 422
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert field in answer.text
