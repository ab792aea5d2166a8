"""The telemetry added for issue 11: channel provisioning, why a settlement failed, and balance
changes from settlements; and every message of these histories fits the committed schemas."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.kafka.event_mapping import event_message
from adapters.kafka.messages import EventMessageV1, TelemetryMessageV1, TelemetryType
from adapters.kafka.telemetry import telemetry_for
from domain.channel import Channel
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry, PeerAccount
from domain.settlement import Settlement
from tests.support.kafka_schemas import (
    validate_event_message,
    validate_telemetry_message,
    validator,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OURS, PARTNER, NETWORK = "0x" + "1" * 40, "0x" + "2" * 40, "0x" + "3" * 40


class _History:
    """Events of real aggregates, with their state at any version rebuilt by replay."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def collect(self, *aggregates: Any) -> None:
        for aggregate in aggregates:
            self.events += aggregate.collect_events()

    def load(self, aggregate_id: uuid.UUID, version: int) -> Any:
        state = None
        for event in self.events:
            if event.originator_id == aggregate_id and event.originator_version <= version:
                state = event.mutate(state)
        return state

    def messages(self) -> list[EventMessageV1]:
        return [
            event_message(i + 1, f"{type(e).__module__}:{type(e).__qualname__}", e)
            for i, e in enumerate(self.events)
        ]

    def telemetry(self) -> list[list[TelemetryMessageV1]]:
        return [telemetry_for(m, "node-a", self.load) for m in self.messages()]


def _assert_fits_the_schemas(history: _History) -> None:
    for message in history.messages():
        validate_event_message(json.loads(message.model_dump_json()))
    for messages in history.telemetry():
        for m in messages:
            validate_telemetry_message(json.loads(m.model_dump_json()))


def test_channel_provisioning_maps_to_creation_started_succeeded_and_failed():
    history = _History()
    good = Channel.request_open("c1", "peer-c", "USD", 1, NETWORK, OURS, PARTNER, 500)
    good.observe_opened(7, "0xaa", 0)
    bad = Channel.request_open("c2", "peer-c", "USD", 1, NETWORK, OURS, PARTNER, 500)
    bad.fail_open("deposit reverted: allowance too low")
    history.collect(good, bad)

    telemetry = history.telemetry()

    assert [[t.type for t in ts] for ts in telemetry] == [
        [TelemetryType.CHANNEL_CREATION_STARTED],
        [TelemetryType.CHANNEL_OPENED, TelemetryType.CHANNEL_CREATION_SUCCEEDED],
        [TelemetryType.CHANNEL_CREATION_STARTED],
        [TelemetryType.CHANNEL_CREATION_FAILED],
    ]
    started, (_, succeeded), _, (failed,) = telemetry[0][0], telemetry[1], *telemetry[2:]
    assert (started.peer, started.channel, started.duration_ms) == ("peer-c", str(good.id), 0)
    assert (succeeded.channel, succeeded.position, succeeded.reason) == (str(good.id), 2, None)
    assert (failed.channel, failed.peer, failed.asset_code) == (str(bad.id), "peer-c", "USD")
    assert failed.reason == "deposit reverted: allowance too low"
    _assert_fits_the_schemas(history)


def test_an_abandoned_channel_maps_to_channel_abandoned_with_its_reason():
    history = _History()
    channel = Channel.request_open("c3", "peer-c", "USD", 1, NETWORK, OURS, PARTNER, 500)
    channel.observe_opened(7, "0xaa", 0)
    channel.abandon("closed by the operator: rotating keys")
    channel.abandon("a second reason is not recorded")
    history.collect(channel)

    telemetry = history.telemetry()

    assert [t.type for t in telemetry[-1]] == [TelemetryType.CHANNEL_ABANDONED]
    (abandoned,) = telemetry[-1]
    assert (abandoned.channel, abandoned.peer, abandoned.asset_code) == (
        str(channel.id),
        "peer-c",
        "USD",
    )
    assert abandoned.reason == "closed by the operator: rotating keys"
    assert abandoned.position == 3
    _assert_fits_the_schemas(history)


def test_settlement_failed_carries_the_reason_and_the_error_class_of_the_event():
    history = _History()
    settlement = Settlement.request("k1", uuid.uuid4(), "peer-a", "USD", 10, T0)
    settlement.fail("insufficient funds", T0 + timedelta(seconds=1), error_class="RailRejected")
    history.collect(settlement)

    (failed,) = history.telemetry()[-1]

    assert failed.type == TelemetryType.SETTLEMENT_FAILED
    assert (failed.reason, failed.error_class) == ("insufficient funds", "RailRejected")
    _assert_fits_the_schemas(history)


def test_a_time_out_or_dead_letter_takes_the_error_class_of_the_last_failed_attempt():
    history = _History()
    timed_out = Settlement.request("k2", uuid.uuid4(), "peer-a", "USD", 10, T0)
    timed_out.attempt_failed("RpcTimeout", "no answer", True, T0 + timedelta(seconds=1), T0)
    timed_out.attempt_failed("ConnectionRefused", "refused", True, T0 + timedelta(seconds=3), T0)
    timed_out.channel_ready(uuid.uuid4(), None, T0 + timedelta(seconds=4))
    timed_out.channel_lost("LostChannel: closed by the partner", T0 + timedelta(seconds=5))
    timed_out.time_out(T0 + timedelta(seconds=60))
    dead = Settlement.request("k3", uuid.uuid4(), "peer-b", "USD", 20, T0)
    dead.dead_letter("stuck with a signed proof out", T0 + timedelta(seconds=9))
    history.collect(timed_out, dead)

    telemetry = [ts[0] for ts in history.telemetry() if ts]
    ends = [t for t in telemetry if t.type == TelemetryType.SETTLEMENT_FAILED]

    assert [(t.aggregate_id, t.error_class) for t in ends] == [
        (timed_out.id, "ConnectionRefused"),  # the last attempt's, not the channel loss
        (dead.id, None),  # no attempt failed: no error class to name
    ]
    assert ends[0].reason is not None and ends[0].reason.startswith("timed out: no progress")
    assert (ends[0].retry_count, ends[0].duration_ms) == (2, 60_000)
    assert ends[1].reason == "stuck with a signed proof out"
    _assert_fits_the_schemas(history)


def test_settlements_that_change_balances_map_to_accounts_updated_with_the_changes():
    history = _History()
    account = PeerAccount.open("peer-d", Asset("USD", 2), 10, 0, 10**6)
    account.record_packets(
        "b1",
        [PacketEntry("p1", Direction.OUTGOING, 700), PacketEntry("p2", Direction.INCOMING, 90)],
    )
    paid, released = uuid.uuid4(), uuid.uuid4()
    account.reserve(paid, 400)
    account.apply(paid)
    account.reserve(released, 300)
    account.release(released)
    account.receive_settlement("claim-1", 60)
    history.collect(account)

    updates = [
        (t.event_type, t.amount, t.payable_change, t.receivable_change, t.in_flight_change)
        for ts in history.telemetry()
        for t in ts
    ]

    assert all(t.type == TelemetryType.ACCOUNTS_UPDATED for ts in history.telemetry() for t in ts)
    assert updates == [
        ("PeerAccount.PacketsRecorded", "-610", "700", "90", "0"),
        ("PeerAccount.SettlementApplied", "400", "0", "0", "-400"),
        ("PeerAccount.SettlementReleased", "300", "300", "0", "-300"),
        ("PeerAccount.SettlementReceived", "60", "0", "-60", "0"),
    ]  # reservations move payable to in-flight only: no update
    _assert_fits_the_schemas(history)


def test_a_telemetry_message_published_before_the_additions_still_fits_the_schema():
    before = {
        "type": "CHANNEL_OPENED",
        "schema_version": 1,
        "node_id": "node-a",
        "peer": "peer-c",
        "channel": str(uuid.uuid4()),
        "asset_code": "USD",
        "amount": None,
        "duration_ms": 5,
        "retry_count": 0,
        "aggregate_id": str(uuid.uuid4()),
        "event_type": "Channel.Opened",
        "position": 3,
        "occurred_at": T0.isoformat(),
    }
    telemetry = validator("telemetry-message.v1.json")

    telemetry.validate(before)
    assert not telemetry.is_valid({**before, "surprise": 1})
    assert not telemetry.is_valid({**before, "payable_change": "1.5"})
