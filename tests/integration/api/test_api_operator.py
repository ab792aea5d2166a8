"""Operator actions over HTTP, through the application's named methods: pause (recording who),
resume, threshold and credit limit; refusals name the field."""

from __future__ import annotations

import pytest
from api_service import Service

from entrypoints.http.client import ApiError

BATCH = [{"packet_id": "p", "direction": "incoming", "amount": 300}]


def test_pause_records_the_operator_and_stops_packets_until_resumed(service: Service) -> None:
    with service.client("ops-alice") as ops, service.client("connector") as connector:
        paused = ops.pause("alice", "USD", "maintenance")
        with pytest.raises(ApiError) as refused:
            connector.record_packets("alice", "USD", "b-1", BATCH)
        resumed = ops.resume("alice", "USD")
        recorded = connector.record_packets("alice", "USD", "b-1", BATCH)
        history = ops.history("alice/USD")
    assert paused["paused"] is True
    assert paused["paused_reason"] == "ops-alice: maintenance"
    assert (refused.value.status, refused.value.fields) == (409, ["peer"])
    assert resumed["paused"] is False and resumed["paused_reason"] is None
    assert recorded["receivable"] == 300
    pauses = [e for e in history["items"] if e["event"] == "PeerAccount.Paused"]
    assert [e["payload"]["reason"] for e in pauses] == ["ops-alice: maintenance"]


def test_threshold_and_credit_limit_changes_apply_and_bad_values_name_the_field(
    service: Service,
) -> None:
    with service.client("ops-alice") as ops:
        changed = ops.change_threshold("alice", "USD", threshold=2000, settle_to=100)
        limited = ops.change_credit_limit("alice", "USD", 250)
        with pytest.raises(ApiError) as above:
            ops.change_threshold("alice", "USD", threshold=100, settle_to=100)
        with pytest.raises(ApiError) as negative:
            ops.change_credit_limit("alice", "USD", -1)
        with pytest.raises(ApiError) as unknown:
            ops.change_credit_limit("bob", "USD", 5)
        with pytest.raises(ApiError) as empty_reason:
            ops.pause("alice", "USD", "")
    assert (changed["threshold"], changed["settle_to"]) == (2000, 100)
    assert limited["credit_limit"] == 250
    assert service.node.app.peer_account("alice", "USD").credit_limit == 250
    assert (above.value.status, above.value.fields) == (422, ["settle_to"])
    assert (negative.value.status, negative.value.fields) == (422, ["credit_limit"])
    assert (unknown.value.status, unknown.value.fields) == (404, ["peer"])
    assert (empty_reason.value.status, empty_reason.value.fields) == (422, ["reason"])


def test_a_lowered_credit_limit_is_checked_on_the_state_being_saved(service: Service) -> None:
    with service.client("ops-alice") as ops, service.client("connector") as connector:
        ops.change_credit_limit("alice", "USD", 200)
        with pytest.raises(ApiError) as refused:
            connector.record_packets("alice", "USD", "b-1", BATCH)
    assert (refused.value.status, refused.value.fields) == (409, ["entries"])
    assert service.node.app.peer_account("alice", "USD").receivable == 0
