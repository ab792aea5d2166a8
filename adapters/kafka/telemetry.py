"""Maps domain events to the telemetry stream operators know (TelemetryMessageV1).

  Settlement.Requested                       -> SETTLEMENT_PENDING
  Settlement.AttemptFailed (retryable)       -> SETTLEMENT_PENDING, retry_count = attempt
  Settlement.Completed                       -> SETTLEMENT_COMPLETED
  Settlement.Failed / TimedOut / DeadLettered -> SETTLEMENT_FAILED, with reason and error_class
  Channel.OpenRequested                      -> CHANNEL_CREATION_STARTED
  Channel.Opened                             -> CHANNEL_OPENED, then CHANNEL_CREATION_SUCCEEDED
  Channel.OpenFailed                         -> CHANNEL_CREATION_FAILED, with reason
  Channel.Abandoned                          -> CHANNEL_ABANDONED, with reason
  Channel.Closed by the partner, Channel.SuspectedDoubleSpend -> CHANNEL_DISPUTED
  PeerAccount.PacketsRecorded                -> ACCOUNTS_UPDATED, amount = incoming - outgoing
  PeerAccount.SettlementApplied / Received / Released -> ACCOUNTS_UPDATED, amount = the
                                                settlement's; *_change = the balance changes

Channel.Opened gives two messages with the same position: CHANNEL_OPENED (kept for consumers
that rely on it) and CHANNEL_CREATION_SUCCEEDED; a telemetry message is identified by its
position and type. Durations: settlements from their request to the event's `at`; channels
from the open request. Facts not on the event (peer, requested time, attempts) come from the
aggregate as it was at that event's version, through `load`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from adapters.kafka.balance_view import balance_deltas
from adapters.kafka.messages import EventMessageV1, TelemetryMessageV1, TelemetryType
from domain.address import Address

AggregateLoader = Callable[[UUID, int], Any]  # (aggregate id, version) -> state at that version


class CreationCache:
    """Wraps a loader so that states at version 1 (facts fixed at creation: peer, asset,
    addresses) are loaded once per aggregate; other versions pass through."""

    def __init__(self, load: AggregateLoader, max_entries: int = 10_000) -> None:
        self._load = load
        self._max_entries = max_entries
        self._created: dict[UUID, Any] = {}

    def __call__(self, aggregate_id: UUID, version: int) -> Any:
        if version != 1:
            return self._load(aggregate_id, version)
        state = self._created.get(aggregate_id)
        if state is None:
            if len(self._created) >= self._max_entries:
                self._created.clear()
            state = self._created[aggregate_id] = self._load(aggregate_id, 1)
        return state


_SETTLEMENT_FINAL = {
    "Settlement.Completed": TelemetryType.SETTLEMENT_COMPLETED,
    "Settlement.Failed": TelemetryType.SETTLEMENT_FAILED,
    "Settlement.TimedOut": TelemetryType.SETTLEMENT_FAILED,
    "Settlement.DeadLettered": TelemetryType.SETTLEMENT_FAILED,
}
_CHANNEL_CREATION = {
    "Channel.OpenRequested": (TelemetryType.CHANNEL_CREATION_STARTED,),
    "Channel.Opened": (TelemetryType.CHANNEL_OPENED, TelemetryType.CHANNEL_CREATION_SUCCEEDED),
    "Channel.OpenFailed": (TelemetryType.CHANNEL_CREATION_FAILED,),
}
_ACCOUNT_CHANGES = frozenset(
    {
        "PeerAccount.PacketsRecorded",
        "PeerAccount.SettlementApplied",
        "PeerAccount.SettlementReceived",
        "PeerAccount.SettlementReleased",
    }
)
# How far back a settlement's history is searched for its last failed attempt.
_MAX_VERSIONS_BACK = 100


def telemetry_for(
    message: EventMessageV1, node_id: str, load: AggregateLoader
) -> list[TelemetryMessageV1]:
    """The telemetry messages for this event, in order; none if operators do not track it."""
    event_type, payload = message.event_type, message.payload
    common: dict[str, Any] = {
        "node_id": node_id,
        "aggregate_id": message.aggregate_id,
        "event_type": event_type,
        "position": message.position,
        "occurred_at": message.occurred_at,
    }
    if event_type == "Settlement.Requested":
        pending = TelemetryMessageV1(
            type=TelemetryType.SETTLEMENT_PENDING,
            peer=payload["peer_id"],
            asset_code=payload["asset_code"],
            amount=str(payload["amount"]),
            duration_ms=0,
            retry_count=0,
            **common,
        )
        return [pending]
    if event_type == "Settlement.AttemptFailed" and payload.get("retryable"):
        return [_settlement(TelemetryType.SETTLEMENT_PENDING, message, load, common)]
    if event_type in _SETTLEMENT_FINAL:
        kind = _SETTLEMENT_FINAL[event_type]
        if kind is TelemetryType.SETTLEMENT_FAILED:
            common |= _failure(message, load)
        return [_settlement(kind, message, load, common)]
    if event_type in _CHANNEL_CREATION:
        if event_type == "Channel.OpenFailed":
            common["reason"] = payload["reason"]
        return [_channel(k, None, message, load, common) for k in _CHANNEL_CREATION[event_type]]
    if event_type == "Channel.Abandoned":
        common["reason"] = payload["reason"]
        return [_channel(TelemetryType.CHANNEL_ABANDONED, None, message, load, common)]
    if event_type == "Channel.SuspectedDoubleSpend":
        amount = str(payload["transferred_amount"])
        return [_channel(TelemetryType.CHANNEL_DISPUTED, amount, message, load, common)]
    if event_type == "Channel.Closed":
        channel = load(message.aggregate_id, 1)
        closer = Address(str(payload["closing_participant"]))
        if closer != Address(str(channel.partner_address)):
            return []
        return [
            _channel(TelemetryType.CHANNEL_DISPUTED, None, message, lambda *_: channel, common)
        ]
    if event_type in _ACCOUNT_CHANGES:
        return [_accounts_updated(message, load, common)]
    return []


def _accounts_updated(
    message: EventMessageV1, load: AggregateLoader, common: dict[str, Any]
) -> TelemetryMessageV1:
    """A change of the account's balances; `amount` keeps its meaning per event (see above)."""
    payload = message.payload
    deltas = balance_deltas(message.event_type, payload)
    assert deltas is not None  # every type in _ACCOUNT_CHANGES changes balances
    payable, receivable, in_flight = deltas
    if message.event_type == "PeerAccount.PacketsRecorded":
        amount = payload["incoming_total"] - payload["outgoing_total"]
    else:
        amount = payload["amount"]
    account = load(message.aggregate_id, 1)  # peer and asset are fixed at opening
    return TelemetryMessageV1(
        type=TelemetryType.ACCOUNTS_UPDATED,
        peer=account.peer_id,
        asset_code=account.asset_code,
        amount=str(amount),
        payable_change=str(payable),
        receivable_change=str(receivable),
        in_flight_change=str(in_flight),
        **common,
    )


def _failure(message: EventMessageV1, load: AggregateLoader) -> dict[str, str | None]:
    """reason and error_class of a settlement's end: from the event, else from its last
    failed attempt (a time-out or a dead letter names no error class of its own)."""
    payload = message.payload
    if message.event_type == "Settlement.TimedOut":
        reason = f"timed out: no progress since {payload['stuck_since']}"
    else:
        reason = str(payload["reason"])
    error_class = payload.get("error_class") or _last_attempt_error_class(
        load, message.aggregate_id, message.aggregate_version
    )
    return {"reason": reason, "error_class": error_class}


def _last_attempt_error_class(
    load: AggregateLoader, settlement_id: UUID, version: int
) -> str | None:
    """The error class of the last AttemptFailed before `version`: walks back to the version
    where the attempts count last rose; there `last_error` is that attempt's "class: error"."""
    state = load(settlement_id, version - 1)
    attempts = int(state.attempts)
    if attempts == 0:
        return None
    at = version - 1
    while at > 1 and version - at < _MAX_VERSIONS_BACK:
        earlier = load(settlement_id, at - 1)
        if int(earlier.attempts) < attempts:
            error_class = str(state.last_error or "").partition(": ")[0]
            return error_class or None
        state, at = earlier, at - 1
    return None


def _settlement(
    kind: TelemetryType, message: EventMessageV1, load: AggregateLoader, common: dict[str, Any]
) -> TelemetryMessageV1:
    settlement = load(message.aggregate_id, message.aggregate_version)
    channel_id = getattr(settlement, "channel_id", None)
    return TelemetryMessageV1(
        type=kind,
        peer=settlement.peer_id,
        channel=str(channel_id) if channel_id else None,
        asset_code=settlement.asset_code,
        amount=str(settlement.amount),
        duration_ms=_milliseconds(settlement.requested_at, _event_time(message)),
        retry_count=int(settlement.attempts),
        **common,
    )


def _channel(
    kind: TelemetryType,
    amount: str | None,
    message: EventMessageV1,
    load: AggregateLoader,
    common: dict[str, Any],
) -> TelemetryMessageV1:
    channel = load(message.aggregate_id, 1)  # peer, asset, addresses are fixed at the request
    return TelemetryMessageV1(
        type=kind,
        peer=channel.peer_id,
        channel=str(message.aggregate_id),
        asset_code=channel.asset_code,
        amount=amount,
        duration_ms=_milliseconds(channel.created_on, message.occurred_at),
        **common,
    )


def _event_time(message: EventMessageV1) -> datetime:
    """Settlement events carry the time of the caller's clock; prefer it to the record time."""
    at = message.payload.get("at")
    return datetime.fromisoformat(at) if isinstance(at, str) else message.occurred_at


def _milliseconds(start: datetime, end: datetime) -> int:
    return max(int((end - start).total_seconds() * 1000), 0)
