"""Packet batches over HTTP and the idempotency window (issue 14): `made_at` older than the window,
or in the future, is 422 naming `made_at` and records nothing; within it, replays still answer
the first response's bytes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from api_service import Service

PATH = "/v1/peers/alice/assets/USD/packet-batches"


def body(batch_id: str, made_at: datetime | str) -> dict[str, Any]:
    when = made_at if isinstance(made_at, str) else made_at.isoformat()
    entries = [{"packet_id": "p1", "direction": "outgoing", "amount": 10}]
    return {"batch_id": batch_id, "entries": entries, "made_at": when}


def test_a_batch_made_before_the_window_is_422_and_not_recorded(service: Service) -> None:
    now = datetime.now(UTC)
    with service.client("connector") as client:
        old = client.send("POST", PATH, json=body("b-old", now - timedelta(hours=25)))
        future = client.send("POST", PATH, json=body("b-future", now + timedelta(hours=1)))
        naive = client.send("POST", PATH, json=body("b-naive", "2026-01-01T00:00:00"))
        recent = client.send("POST", PATH, json=body("b-recent", now - timedelta(hours=23)))
        again = client.send("POST", PATH, json=body("b-recent", now - timedelta(hours=23)))
    assert old.status_code == 422
    assert [e["field"] for e in old.json()["errors"]] == ["made_at"]
    assert "b-old" in old.json()["detail"] and "24 h window" in old.json()["detail"]
    assert future.status_code == 422 and "in the future" in future.json()["detail"]
    assert naive.status_code == 422
    assert (recent.status_code, again.status_code) == (201, 200)
    assert again.content == recent.content
    assert service.node.app.peer_account("alice", "USD").payable == 10
