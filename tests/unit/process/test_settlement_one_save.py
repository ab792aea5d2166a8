"""Fewer saves per settlement: a channel found open and funded takes the rail choice, the
channel's readiness and the signed proof in one save; an acknowledged claim is delivered and
applied in one save. The money rules hold on each of them as on the separate steps."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from adapters.evm.errors import RpcUnavailable
from application.app import SettlementApp
from application.processes.ports import ChannelReadiness
from application.processes.settlement_steps import Progress
from domain.peer_account import Direction, PacketEntry, PeerAccount
from domain.settlement import SettlementStatus
from tests.support import aggregate_commands as aggregates
from tests.support.process_edges import ChannelEdge, events_of
from tests.unit.process.test_settlement_steps import World


class QuietChannelEdge(ChannelEdge):
    """As the real channel port: no transaction (no hash) once the channel is open."""

    def ensure_channel(
        self, account: PeerAccount, rail: str, amount: int, at: datetime, *, may_send: bool = True
    ) -> ChannelReadiness | None:
        was_open = self.ready_channel(account, rail, amount)
        ready = super().ensure_channel(account, rail, amount, at, may_send=may_send)
        if ready is None or not was_open:
            return ready
        return ChannelReadiness(ready.channel_id, None)


@pytest.fixture
def app() -> Iterator[SettlementApp]:
    ledger = SettlementApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield ledger
    ledger.close()


def quiet_world(app: SettlementApp) -> World:
    w = World(app)
    w.channels = w.steps.channels = QuietChannelEdge(app)
    return w


def second_settlement(w: World, app: SettlementApp) -> None:
    assert w.run() is Progress.FINISHED  # the first opens the channel (a transaction)
    app.record_packets("bob", "USD", "b2", [PacketEntry("p2", Direction.OUTGOING, 1000)])
    w.settlement_id = app.request_settlement("s2", w.account_id, 1000, w.clock())


def test_an_open_channel_takes_rail_readiness_and_proof_in_one_save(app: SettlementApp) -> None:
    w = quiet_world(app)
    second_settlement(w, app)
    assert w.steps.step(w.settlement_id) is Progress.ADVANCED
    assert w.settlement.status == SettlementStatus.PROOF_SIGNED
    assert events_of(app, w.settlement_id) == [
        "Requested",
        "RailChosen",
        "ChannelReady",
        "ProofSigned",
    ]
    assert w.account.settlement_state(w.settlement_id) == "promised"
    assert w.steps.step(w.settlement_id) is Progress.ADVANCED  # delivered and applied at once
    assert events_of(app, w.settlement_id)[-2:] == ["Delivered", "Applied"]
    assert w.run() is Progress.FINISHED
    assert [t for _, _, t in w.claims.delivered] == [1400, 2400]
    assert (w.account.payable, w.account.in_flight) == (100, 0)


def test_a_fault_on_a_ready_rail_is_recorded_on_that_rail(app: SettlementApp) -> None:
    w = quiet_world(app)
    second_settlement(w, app)
    w.channels.faults = [RpcUnavailable("rpc", "down")]
    assert w.steps.step(w.settlement_id) is Progress.ADVANCED
    assert events_of(app, w.settlement_id) == ["Requested", "RailChosen", "AttemptFailed"]
    assert w.rails.outcomes[-1] == ("rail-a", False)
    assert w.run() is Progress.FINISHED
    assert (w.account.payable, w.account.in_flight) == (100, 0)


def test_a_proof_signed_on_an_older_view_of_the_channel_is_refused_in_the_one_save(
    app: SettlementApp,
) -> None:
    w = quiet_world(app)
    second_settlement(w, app)
    sign = w.steps.channels.sign_proof
    channel_id = w.channels.opened[0]

    def sign_then_race(channel: object, nonce: int, transferred: int) -> str:
        aggregates.change_channel(
            app,
            channel_id,
            lambda c: c.record_our_proof(nonce, transferred, 0, "0x" + "00" * 32, "0xother"),
        )
        return sign(channel, nonce, transferred)  # type: ignore[arg-type]

    w.steps.channels.sign_proof = sign_then_race  # type: ignore[method-assign,assignment]
    w.steps.step(w.settlement_id)
    # Nothing of the one save is recorded, only the failure: no rail, no readiness, no proof.
    assert events_of(app, w.settlement_id) == ["Requested", "Failed"]
    assert not w.settlement.has_signed_proof
    assert (w.account.payable, w.account.in_flight) == (1100, 0)


def test_a_stale_ready_hint_records_the_rail_before_anything_can_go_out(
    app: SettlementApp,
) -> None:
    """The hint said ready (decided on a view), but the channel needs a transaction: nothing is
    sent until the rail is recorded, so a crash after sending resumes on the same rail."""
    w = World(app)
    edge = ChannelEdge(app)
    rail_when_sending: list[str | None] = []
    ensure = edge.ensure_channel

    def ensure_recording_the_rail(
        account: PeerAccount, rail: str, amount: int, at: datetime, *, may_send: bool = True
    ) -> ChannelReadiness | None:
        if may_send:
            rail_when_sending.append(app.settlement(w.settlement_id).rail)
        return ensure(account, rail, amount, at, may_send=may_send)

    edge.ensure_channel = ensure_recording_the_rail  # type: ignore[method-assign]
    edge.ready_channel = lambda *_: True  # type: ignore[method-assign]  # stale: none is open
    w.channels = w.steps.channels = edge
    assert w.steps.step(w.settlement_id) is Progress.ADVANCED
    assert rail_when_sending == ["rail-a"]
    assert events_of(app, w.settlement_id) == ["Requested", "RailChosen", "ChannelReady"]
    assert w.run() is Progress.FINISHED
