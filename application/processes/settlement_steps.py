"""Drives one settlement one step along its lifecycle; every step is safe to repeat after a crash.

Requested (amount reserved) -> (route, ensure channel) -> ChannelReady -> (sign) -> ProofSigned
-> (deliver) -> Delivered -> (apply to the account) -> Applied -> (ledger caught up) -> Completed.
Each step looks at what is already recorded before it acts, and records what it did through one
named use case of the application, one atomic save, so a crash between any two lines repeats at
most an idempotent side effect. A failure is recorded by deciding on the state being saved: a
driver that lost a race to another records nothing.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Generic
from uuid import UUID

from application.app import SettlementApp
from application.commands.settlements import FailureOutcome
from application.failpoints import failpoint
from application.processes.ports import (
    ChannelPort,
    CooperativeClaimPort,
    LedgerProgress,
    RailPort,
    Terms,
    failure_facts,
)
from application.processes.retry_policy import RetryPolicy
from domain.channel import Channel
from domain.peer_account import PeerAccount
from domain.settlement import Settlement, SettlementStatus

log = logging.getLogger(__name__)


class Progress(Enum):
    ADVANCED = "advanced"  # a step was recorded; call again for the next
    WAITING = "waiting"  # nothing to do until later (a retry time)
    CATCHING_UP = "catching_up"  # the ledger is moments behind its last event: look again soon
    FINISHED = "finished"  # terminal


@dataclass
class SettlementSteps(Generic[Terms]):
    app: SettlementApp
    channels: ChannelPort[Terms]
    claims: CooperativeClaimPort[Terms]
    rails: RailPort
    ledger: LedgerProgress | None
    policy: RetryPolicy
    clock: Callable[[], datetime]
    rng: random.Random
    onchain_mode: str = "off"  # "cooperative": each settlement also ends the channel on chain

    def step(self, settlement_id: UUID) -> Progress:
        settlement = self.app.settlement(settlement_id)
        if settlement.is_terminal:
            return Progress.FINISHED
        now = self.clock()
        if settlement.next_attempt_at is not None and now < settlement.next_attempt_at:
            return Progress.WAITING
        try:
            return self._advance(settlement, now)
        except Exception as error:  # classified and recorded; never swallowed silently
            self._record_failure(settlement, error)
            return Progress.ADVANCED

    def _advance(self, settlement: Settlement, now: datetime) -> Progress:
        sid = settlement.id
        status = settlement.status
        if status == SettlementStatus.REQUESTED:
            self._make_channel_ready(settlement, now)
        elif status == SettlementStatus.CHANNEL_READY:
            self._sign(settlement)
            failpoint("after_sign")
        elif status == SettlementStatus.PROOF_SIGNED:
            account = self.app.load(settlement.account_id, PeerAccount)
            channel = self.app.load(_channel_id(settlement), Channel)
            if self.onchain_mode == "cooperative":
                self._deliver_and_settle_on_chain(settlement, account, channel)
            else:
                receipt = self.claims.deliver(account, settlement, channel)
                failpoint("after_deliver")
                # Acknowledged: delivered and applied to the books in one save.
                self.app.record_delivered_and_applied(sid, account.id, receipt, self.clock())
                failpoint("after_applied")
        elif status == SettlementStatus.DELIVERED:
            self.app.apply_settlement_to_books(sid, self.clock())
            failpoint("after_applied")
        elif status == SettlementStatus.APPLIED:
            if self.ledger is not None and not self.ledger.caught_up_with(settlement):
                return Progress.CATCHING_UP
            self.app.complete_settlement(sid, self.clock())
            failpoint("after_complete")
            log.info("settlement completed", extra={"settlement_id": str(sid)})
            return Progress.FINISHED
        return Progress.ADVANCED

    def _make_channel_ready(self, settlement: Settlement, now: datetime) -> None:
        """Routes (first attempt or retry) and makes the channel ready: the rail choice recorded
        with the readiness in one save where a crash in between repeats no side effect. A
        channel found open and funded (no transaction this step) gets the proof signed in the
        same save; after a transaction, readiness is recorded alone and signing is the next
        step."""
        sid = settlement.id
        account = self.app.load(settlement.account_id, PeerAccount)
        if account.settlement_state(sid) is None:  # requested before reservations came with it
            self.app.reserve_settlement(sid)
            account = self.app.load(settlement.account_id, PeerAccount)
        failpoint("after_reserve")
        rail = settlement.rail
        routing: tuple[str, dict[str, object]] | None = None
        if rail is None or settlement.attempts > 0:
            # A retry routes again, passing over the rail that just failed (fallback).
            routed = self.rails.route(account, [rail] if rail else [])
            rail, routing = routed.rail, (routed.rail, routed.decision)
            if not self.channels.ready_channel(account, rail, settlement.amount):
                # A transaction may go out: the rail is recorded first, so a crash resumes it
                # on this rail rather than routing again.
                self.app.choose_settlement_rail(sid, rail, routed.decision, now)
                routing = None
        try:
            # While the rail is unrecorded, nothing may go out: the hint was decided on a view,
            # and a transaction sent before the rail is recorded could, after a crash, be
            # followed by another on a rail routed afresh.
            ready = self.channels.ensure_channel(
                account, rail, settlement.amount, now, may_send=routing is None
            )
            if ready is None and routing is not None:  # a transaction must go out after all
                self.app.choose_settlement_rail(sid, rail, routing[1], now)
                routing = None
                ready = self.channels.ensure_channel(account, rail, settlement.amount, now)
        except Exception:
            if routing is not None:  # the failure is this rail's: recorded on it
                self.app.choose_settlement_rail(sid, rail, routing[1], now)
            raise
        if ready is None:
            raise RuntimeError(f"channel port gave no channel for settlement {sid}")
        self.rails.record_outcome(rail, True, _ms(self.clock() - now))
        if ready.tx_hash is None:  # the channel was open and funded: sign on it in this save
            channel = self.app.load(ready.channel_id, Channel)
            signed = self._signed_proof(channel, settlement, account)
            self.app.record_ready_and_signed(
                sid, account.id, routing, channel.id, signed, self.clock()
            )
            failpoint("after_channel_ready")
            failpoint("after_sign")
            return
        self.app.record_ready_on_rail(
            sid, account.id, routing, ready.channel_id, ready.tx_hash, self.clock()
        )
        failpoint("after_channel_ready")

    def _deliver_and_settle_on_chain(
        self, settlement: Settlement, account: PeerAccount, channel: Channel
    ) -> None:
        """On-chain mode: the claim carries the signed final balances; with the peer's signature
        back, one cooperativeSettle pays both sides and ends the channel."""
        terms = self.channels.cooperative_settlement(
            channel, channel.our_transferred, channel.partner_transferred
        )
        ours = self.channels.sign_cooperative(channel, terms)
        receipt, theirs = self.claims.deliver_cooperatively(
            account, settlement, channel, terms, ours
        )
        failpoint("after_deliver")
        tx_hash = self.channels.settle_cooperatively(channel.id, terms, ours, theirs)
        self.app.record_delivery(settlement.id, receipt, self.clock(), onchain_tx_hash=tx_hash)

    def _sign(self, settlement: Settlement) -> None:
        """Signs the channel's next proof for the amount; the application records it only if it
        is still the channel's next (a signature on an older view is never recorded)."""
        account = self.app.load(settlement.account_id, PeerAccount)
        channel = self.app.load(_channel_id(settlement), Channel)
        amount, proof, signature = self._signed_proof(channel, settlement, account)
        self.app.record_proof_signed(
            settlement.id, amount, proof, signature, self.clock(), seen=settlement
        )

    def _signed_proof(
        self, channel: Channel, settlement: Settlement, account: PeerAccount
    ) -> tuple[int, tuple[int, int], str]:
        """The token amount, the channel's next proof for it and our signature of that proof
        (on this view: the save checks it is still the channel's next)."""
        amount = self.channels.token_amount(channel, settlement.amount, account.asset_scale)
        nonce, transferred = channel.next_proof(amount)
        channel.check_our_proof(nonce, transferred)
        signature = self.channels.sign_proof(channel, nonce, transferred)
        return amount, (nonce, transferred), signature

    def _record_failure(self, seen: Settlement, error: BaseException) -> None:
        facts = failure_facts(error)
        log.warning(
            "settlement step failed",
            extra={
                "settlement_id": str(seen.id),
                "status": str(seen.status),
                "error_class": facts.error_class,
                "retryable": facts.retryable,
            },
        )
        current = self.app.settlement(seen.id)  # the rail or channel the step got to
        if (
            current.rail is not None
            and current.status == SettlementStatus.REQUESTED
            and not facts.patient  # a lagging peer or a challenge period is no rail fault
        ):
            self.rails.record_outcome(current.rail, False, None)
        if facts.channel_lost and current.channel_id is not None:
            self.channels.abandon(current.channel_id, facts.message)  # idempotent
        outcome = self.app.record_settlement_failure(
            seen.id, SettlementStatus(seen.status), facts, self.policy, self.rng, self.clock()
        )
        if outcome is FailureOutcome.STALE:
            log.info("settlement moved on meanwhile", extra={"settlement_id": str(seen.id)})

    def time_out(self, settlement_id: UUID) -> None:
        """Gives up on a stuck settlement: timed out and its reservation back to payable, or
        dead-lettered with its amount kept in flight if a proof is out."""
        self.app.time_out_settlement(settlement_id, self.clock())


def _channel_id(settlement: Settlement) -> UUID:
    if settlement.channel_id is None:
        raise AssertionError(f"settlement {settlement.id} has no channel at {settlement.status}")
    return settlement.channel_id


def _ms(delta: timedelta) -> int:
    return int(delta.total_seconds() * 1000)
