"""Domain events to Kafka messages: the generic event serializer and the telemetry mapping."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.kafka.event_mapping import UnpublishableEvent, event_message, to_json_value
from adapters.kafka.messages import (
    EventMessageV1,
    TelemetryMessageV1,
    TelemetryType,
    event_record,
)
from adapters.kafka.telemetry import telemetry_for
from domain.channel import Channel
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry, PeerAccount
from domain.settlement import Settlement

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _topic(event: Any) -> str:
    return f"{type(event).__module__}:{type(event).__qualname__}"


def _one(message: EventMessageV1, history: _History) -> TelemetryMessageV1 | None:
    """The single telemetry message of an event that maps to at most one."""
    telemetry = telemetry_for(message, "node-a", history.load)
    assert len(telemetry) <= 1
    return telemetry[0] if telemetry else None


class _History:
    """Events of real aggregates, with their state at any version rebuilt by replay."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def collect(self, aggregate: Any) -> None:
        self.events += aggregate.collect_events()

    def load(self, aggregate_id: uuid.UUID, version: int) -> Any:
        state = None
        for event in self.events:
            if event.originator_id == aggregate_id and event.originator_version <= version:
                state = event.mutate(state)
        return state

    def messages(self) -> list[EventMessageV1]:
        return [event_message(i + 1, _topic(e), e) for i, e in enumerate(self.events)]


def test_event_message_carries_the_envelope_and_every_attribute_as_json():
    account = PeerAccount.open("peer-a", Asset("USDC", 6), 10**30, 0, 2**127)
    account.record_packets("b1", [PacketEntry("p1", Direction.INCOMING, 2**127 - 5)])
    opened, packets = account.collect_events()

    message = event_message(41, _topic(packets), packets)

    assert message.event_type == "PeerAccount.PacketsRecorded"
    assert (message.aggregate_type, message.aggregate_id) == ("PeerAccount", account.id)
    assert (message.aggregate_version, message.position) == (2, 41)
    assert message.occurred_at == packets.timestamp
    assert message.payload == {
        "batch_id": "b1",
        "digest": packets.digest,
        "entries": [["p1", "incoming", 2**127 - 5]],
        "incoming_total": 2**127 - 5,
        "outgoing_total": 0,
        "made_at": None,  # optional since issue 14: when the connector made the batch
    }
    record = event_record(message, "ledger.peer-account.v1")
    assert record.key == str(account.id).encode()
    assert json.loads(record.value)["payload"]["incoming_total"] == 2**127 - 5
    assert dict(record.headers)["position"] == b"41"
    assert "originator_topic" not in event_message(40, _topic(opened), opened).payload


def test_values_convert_explicitly_and_floats_are_refused():
    sid = uuid.uuid4()
    assert to_json_value({"id": sid, "at": T0, "xs": (1, b"\x01")}, "f") == {
        "id": str(sid),
        "at": "2026-03-01T12:00:00+00:00",
        "xs": [1, "0x01"],
    }
    with pytest.raises(ValueError, match=r"payload\.amount is a float"):
        to_json_value({"amount": 1.5}, "payload")


def test_a_routing_decision_with_float_scores_publishes_but_a_float_amount_does_not():
    settlement = Settlement.request("k", uuid.uuid4(), "peer-a", "USD", 5, T0)
    decision = {"chosen": "fast", "ranked": [{"rail": "fast", "latency_ms": 1000.0, "score": 0.5}]}
    settlement.choose_rail("fast", decision, T0)
    _, chosen = settlement.collect_events()

    message = event_message(8, _topic(chosen), chosen)

    assert message.payload["decision"]["ranked"][0] == {
        "rail": "fast",
        "latency_ms": 1000.0,
        "score": 0.5,
    }
    with pytest.raises(ValueError, match="is a float"):
        to_json_value(float("nan"), "decision.score", measurement=True)
    with pytest.raises(ValueError, match=r"payload\.amount is a float"):
        to_json_value({"amount": 1.5}, "payload")


def test_an_event_that_cannot_be_serialized_stops_publishing_with_its_position():
    settlement = Settlement.request("k", uuid.uuid4(), "peer-a", "USD", 5, T0)
    (requested,) = settlement.collect_events()
    object.__setattr__(requested, "amount", 5.0)

    with pytest.raises(UnpublishableEvent) as raised:
        event_message(7, _topic(requested), requested)

    assert (raised.value.position, raised.value.event_type) == (7, "Settlement.Requested")
    assert raised.value.retryable is False


def test_settlement_lifecycle_maps_to_pending_completed_with_duration_and_retries():
    history = _History()
    settlement = Settlement.request("k1", uuid.uuid4(), "peer-a", "USD", 2**100, T0)
    channel_id = uuid.uuid4()
    settlement.attempt_failed("RailDown", "timeout", True, T0 + timedelta(seconds=2), T0)
    settlement.channel_ready(channel_id, None, T0 + timedelta(seconds=3))
    settlement.proof_signed(1, 2**100, "0xsig", T0 + timedelta(seconds=3))
    settlement.delivered("r", T0 + timedelta(seconds=4))
    settlement.applied(T0 + timedelta(seconds=4))
    settlement.complete(T0 + timedelta(seconds=4, milliseconds=250))
    history.collect(settlement)

    telemetry = [_one(m, history) for m in history.messages()]

    kinds = [t.type if t else None for t in telemetry]
    assert kinds == [
        TelemetryType.SETTLEMENT_PENDING,
        TelemetryType.SETTLEMENT_PENDING,
        None,
        None,
        None,
        None,
        TelemetryType.SETTLEMENT_COMPLETED,
    ]
    done = telemetry[-1]
    assert done is not None
    assert (done.peer, done.amount, done.channel) == ("peer-a", str(2**100), str(channel_id))
    assert (done.duration_ms, done.retry_count, done.node_id) == (4250, 1, "node-a")
    assert telemetry[1] is not None and telemetry[1].retry_count == 1


@pytest.mark.parametrize("ending", ["fail", "time_out", "dead_letter"])
def test_every_terminal_failure_maps_to_settlement_failed(ending: str):
    history = _History()
    settlement = Settlement.request("k2", uuid.uuid4(), "peer-b", "USD", 10, T0)
    at = T0 + timedelta(seconds=30)
    if ending == "time_out":
        settlement.time_out(at)
    else:
        getattr(settlement, ending)("no route", at)
    history.collect(settlement)

    last = _one(history.messages()[-1], history)

    assert last is not None
    assert (last.type, last.duration_ms, last.amount) == (
        TelemetryType.SETTLEMENT_FAILED,
        30_000,
        "10",
    )


def test_channel_open_and_partner_close_map_to_opened_and_disputed():
    history = _History()
    ours, partner = "0x" + "1" * 40, "0x" + "2" * 40
    channel = Channel.request_open("c1", "peer-c", "USD", 1, "0x" + "3" * 40, ours, partner, 500)
    channel.observe_opened(7, "0xaa", 0)
    channel.observe_closed(partner.upper().replace("0X", "0x"), "0xbb", 1)
    history.collect(channel)
    mine = Channel.request_open("c2", "peer-c", "USD", 1, "0x" + "3" * 40, ours, partner, 500)
    mine.observe_opened(8, "0xcc", 0)
    mine.observe_closed(ours, "0xdd", 0)
    history.collect(mine)

    telemetry = [telemetry_for(m, "node-a", history.load) for m in history.messages()]

    kinds = [[t.type for t in ts] for ts in telemetry]
    assert kinds == [
        [TelemetryType.CHANNEL_CREATION_STARTED],
        [TelemetryType.CHANNEL_OPENED, TelemetryType.CHANNEL_CREATION_SUCCEEDED],
        [TelemetryType.CHANNEL_DISPUTED],
        [TelemetryType.CHANNEL_CREATION_STARTED],
        [TelemetryType.CHANNEL_OPENED, TelemetryType.CHANNEL_CREATION_SUCCEEDED],
        [],  # closed by us: not a dispute
    ]
    for opened in telemetry[1]:
        assert (opened.peer, opened.channel) == ("peer-c", str(channel.id))
        assert opened.position == 2


def test_packets_map_to_accounts_updated_with_the_net_amount_as_a_string():
    history = _History()
    account = PeerAccount.open("peer-d", Asset("USD", 2), 10**6, 0, 2**128 - 1)
    account.record_packets(
        "b1",
        [
            PacketEntry("p1", Direction.INCOMING, 10**38),
            PacketEntry("p2", Direction.OUTGOING, 3),
        ],
    )
    history.collect(account)

    update = _one(history.messages()[-1], history)

    assert update is not None
    assert (update.type, update.peer, update.asset_code) == (
        TelemetryType.ACCOUNTS_UPDATED,
        "peer-d",
        "USD",
    )
    assert update.amount == str(10**38 - 3)
