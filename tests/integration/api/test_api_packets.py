"""Recording packet batches over HTTP: 201 then the same bytes on replay, 409 on other entries
under the same id, 422 naming the field for bad entries, 413 over the entry and byte limits."""

from __future__ import annotations

from typing import Any

import pytest
from api_service import MAX_BODY, MAX_ENTRIES, Service

PATH = "/v1/peers/alice/assets/USD/packet-batches"


def entry(packet_id: str, amount: Any = 10, direction: str = "outgoing") -> dict[str, Any]:
    return {"packet_id": packet_id, "direction": direction, "amount": amount}


def fields(response: Any) -> list[str]:
    assert response.headers["content-type"] == "application/problem+json"
    return [e["field"] for e in response.json()["errors"]]


def test_first_record_is_201_and_a_replay_is_200_with_the_same_bytes(service: Service) -> None:
    body = {"batch_id": "b-1", "entries": [entry("p1", 700), entry("p2", 40, "incoming")]}
    with service.client("connector") as client:
        first = client.send("POST", PATH, json=body)
        again = client.send("POST", PATH, json=body)
        client.record_packets("alice", "USD", "b-2", [entry("p3", 400)])  # crosses the threshold
        replay_after_more = client.send("POST", PATH, json=body)
    assert first.status_code == 201
    assert first.json() == {
        "batch_id": "b-1",
        "incoming_total": 40,
        "outgoing_total": 700,
        "payable": 700,
        "receivable": 40,
        "threshold_crossed": False,
    }
    assert again.status_code == 200
    assert again.content == first.content
    assert replay_after_more.content == first.content
    assert service.node.app.peer_account("alice", "USD").payable == 1100


def test_other_entries_under_a_recorded_batch_id_are_409_naming_the_batch(
    service: Service,
) -> None:
    with service.client("connector") as client:
        client.record_packets("alice", "USD", "b-1", [entry("p1", 10)])
        response = client.send("POST", PATH, json={"batch_id": "b-1", "entries": [entry("p1", 11)]})
    assert response.status_code == 409
    assert fields(response) == ["batch_id"]
    assert "b-1" in response.json()["detail"]


@pytest.mark.parametrize(
    ("entries", "field"),
    [
        ([entry("p1", 1.5)], "entries[0].amount"),
        ([entry("p1", "10")], "entries[0].amount"),
        ([entry("p1"), entry("p2", 0)], "entries[1].amount"),
        ([entry("p1", 2**128)], "entries[0].amount"),
        ([entry("p1", direction="sideways")], "entries[0].direction"),
        ([entry("")], "entries[0].packet_id"),
        ([{"packet_id": "p1", "direction": "outgoing"}], "entries[0].amount"),
        ([entry("p1"), entry("p1")], "entries[1].packet_id"),
        ([], "entries"),
    ],
)
def test_bad_entries_are_422_naming_the_field(
    service: Service, entries: list[dict[str, Any]], field: str
) -> None:
    with service.client("connector") as client:
        response = client.send("POST", PATH, json={"batch_id": "b-1", "entries": entries})
    assert response.status_code == 422, response.text
    assert fields(response) == [field]
    assert service.node.app.peer_account("alice", "USD").payable == 0


def test_bad_documents_are_422_naming_the_body_or_field(service: Service) -> None:
    with service.client("connector") as client:
        not_json = client.send("POST", PATH, content=b"{not json", headers=_json_type())
        extra = client.send("POST", PATH, json={"batch_id": "b", "entries": [], "x": 1})
        no_batch = client.send("POST", PATH, json={"entries": [entry("p")]})
        long_peer = client.send("POST", f"/v1/peers/{'p' * 200}/assets/USD/packet-batches", json={})
    assert (not_json.status_code, fields(not_json)) == (422, ["body"])
    assert extra.status_code == 422 and "x" in fields(extra)
    assert (no_batch.status_code, fields(no_batch)) == (422, ["batch_id"])
    assert long_peer.status_code == 422 and "peer" in fields(long_peer)


def test_refusals_of_the_account_name_what_was_refused(service: Service) -> None:
    with service.client("connector") as client:
        unknown = client.send(
            "POST", "/v1/peers/bob/assets/USD/packet-batches", json=_batch("b", 1)
        )
        over_credit = client.send(
            "POST", PATH, json={"batch_id": "b", "entries": [entry("p", 501, "incoming")]}
        )
    assert (unknown.status_code, fields(unknown)) == (404, ["peer"])
    assert (over_credit.status_code, fields(over_credit)) == (409, ["entries"])
    assert over_credit.json()["type"] == "/problems/credit-limit-exceeded"


def test_more_entries_than_the_limit_is_413_naming_entries(service: Service) -> None:
    with service.client("connector") as client:
        response = client.send("POST", PATH, json=_batch("b", MAX_ENTRIES + 1))
        at_limit = client.send("POST", PATH, json=_batch("c", MAX_ENTRIES))
    assert (response.status_code, fields(response)) == (413, ["entries"])
    assert at_limit.status_code == 201


def test_a_body_over_the_byte_limit_is_413_declared_or_streamed(service: Service) -> None:
    big = b'{"batch_id": "b", "entries": [], "pad": "' + b"x" * MAX_BODY + b'"}'

    def chunks() -> Any:
        yield big[: len(big) // 2]
        yield big[len(big) // 2 :]

    with service.client("connector") as client:
        declared = client.send("POST", PATH, content=big, headers=_json_type())
    with service.client("connector") as client:
        streamed = client.send("POST", PATH, content=chunks(), headers=_json_type())
    for response in (declared, streamed):
        assert (response.status_code, fields(response)) == (413, ["body"])


def _batch(batch_id: str, size: int) -> dict[str, Any]:
    return {"batch_id": batch_id, "entries": [entry(f"p{i}", 1) for i in range(size)]}


def _json_type() -> dict[str, str]:
    return {"Content-Type": "application/json"}
