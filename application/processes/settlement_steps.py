"""Drives one settlement one step along its lifecycle; every step is safe to repeat after a crash.

Requested -> (reserve, route, ensure channel) -> ChannelReady -> (sign) -> ProofSigned ->
(deliver) -> Delivered -> (apply to the account) -> LedgerPosted -> Completed.
Each step looks at what is already recorded before it acts, and records what it did in one
atomic save, so a crash between any two lines repeats at most an idempotent side effect.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

from application.app import SettlementApp
from application.failpoints import failpoint
from application.processes.ports import (
    ChannelPort,
    ClaimPort,
    LedgerProgress,
    RailPort,
    failure_facts,
)
from application.processes.retry_policy import RetryPolicy
from domain.channel import Channel
from domain.peer_account import PeerAccount
from domain.settlement import Settlement, SettlementStatus

log = logging.getLogger(__name__)


class Progress(Enum):
    ADVANCED = "advanced"  # a step was recorded; call again for the next
    WAITING = "waiting"  # nothing to do until later (a retry time, the ledger)
    FINISHED = "finished"  # terminal


@dataclass
class SettlementSteps:
    app: SettlementApp
    channels: ChannelPort
    claims: ClaimPort
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
            self._record_failure(settlement_id, error)
            return Progress.ADVANCED

    def _advance(self, settlement: Settlement, now: datetime) -> Progress:
        sid = settlement.id
        account = self.app.load(settlement.account_id, PeerAccount)
        status = settlement.status
        if status == SettlementStatus.REQUESTED:
            if account.settlement_state(sid) is None:
                self.app.reserve(account.id, sid, settlement.amount)
                failpoint("after_reserve")
            if settlement.rail is None or settlement.attempts > 0:
                # A retry routes again, passing over the rail that just failed (fallback).
                failed = [settlement.rail] if settlement.rail else []
                routing = self.rails.route(account, failed)
                if routing.rail != settlement.rail:
                    self.app.change_settlement(
                        sid, lambda s: s.choose_rail(routing.rail, routing.decision, now)
                    )
                    settlement = self.app.settlement(sid)
            assert settlement.rail is not None
            started = now
            ready = self.channels.ensure_channel(account, settlement.rail, settlement.amount, now)
            self.rails.record_outcome(settlement.rail, True, _ms(self.clock() - started))
            self.app.change_settlement(
                sid, lambda s: s.channel_ready(ready.channel_id, ready.tx_hash, self.clock())
            )
            failpoint("after_channel_ready")
        elif status == SettlementStatus.CHANNEL_READY:
            self._sign(settlement, account)
            failpoint("after_sign")
        elif status == SettlementStatus.PROOF_SIGNED:
            channel = self.app.load(_channel_id(settlement), Channel)
            if self.onchain_mode == "cooperative":
                self._deliver_and_settle_on_chain(settlement, account, channel)
            else:
                receipt = self.claims.deliver(account, settlement, channel)
                failpoint("after_deliver")
                self.app.change_settlement(sid, lambda s: s.delivered(receipt, self.clock()))
        elif status == SettlementStatus.DELIVERED:

            def post(a: PeerAccount, s: Settlement) -> None:
                a.apply(sid)
                s.ledger_posted(self.clock())

            self.app.change_together(account.id, PeerAccount, sid, Settlement, post)
            failpoint("after_ledger_posted")
        elif status == SettlementStatus.LEDGER_POSTED:
            if self.ledger is not None and not self.ledger.caught_up_with(settlement):
                return Progress.WAITING
            self.app.change_settlement(sid, lambda s: s.complete(self.clock()))
            failpoint("after_complete")
            log.info("settlement completed", extra={"settlement_id": str(sid)})
            return Progress.FINISHED
        return Progress.ADVANCED

    def _deliver_and_settle_on_chain(
        self, settlement: Settlement, account: PeerAccount, channel: Channel
    ) -> None:
        """On-chain mode: the claim carries the signed final balances; with the peer's signature
        back, one cooperativeSettle pays both sides and ends the channel."""
        channels: Any = self.channels
        claims: Any = self.claims
        terms = channels.cooperative_settlement(
            channel, channel.our_transferred, channel.partner_transferred
        )
        ours = channels.sign_cooperative(channel, terms)
        receipt, theirs = claims.deliver_cooperatively(account, settlement, channel, terms, ours)
        failpoint("after_deliver")
        tx_hash = channels.settle_cooperatively(channel.id, terms, ours, theirs)
        self.app.change_settlement(
            settlement.id, lambda s: s.delivered(receipt, self.clock(), onchain_tx_hash=tx_hash)
        )

    def _sign(self, settlement: Settlement, account: PeerAccount) -> None:
        channel = self.app.load(_channel_id(settlement), Channel)
        amount = self.channels.token_amount(channel, settlement.amount, account.asset_scale)
        nonce, transferred = channel.next_proof(amount)
        channel.check_our_proof(nonce, transferred)
        signature = self.channels.sign_proof(channel, nonce, transferred)

        def record(c: Channel, s: Settlement) -> None:
            c.record_our_proof(nonce, transferred, 0, "0x" + "00" * 32, signature)
            s.proof_signed(nonce, transferred, signature, self.clock())

        self.app.change_together(channel.id, Channel, settlement.id, Settlement, record)

    def _record_failure(self, settlement_id: UUID, error: BaseException) -> None:
        facts = failure_facts(error)
        settlement = self.app.settlement(settlement_id)
        if settlement.is_terminal:
            return
        now = self.clock()
        log.warning(
            "settlement step failed",
            extra={
                "settlement_id": str(settlement_id),
                "status": str(settlement.status),
                "error_class": facts.error_class,
                "retryable": facts.retryable,
            },
        )
        if (
            settlement.rail is not None
            and settlement.status == SettlementStatus.REQUESTED
            and not facts.patient  # waiting on a peer or a challenge period is no rail fault
        ):
            self.rails.record_outcome(settlement.rail, False, None)
        if facts.channel_lost and settlement.status in (
            SettlementStatus.CHANNEL_READY,
            SettlementStatus.PROOF_SIGNED,
        ):
            self.channels.abandon(_channel_id(settlement), facts.message)
            self.app.change_settlement(settlement_id, lambda s: s.channel_lost(facts.message, now))
            settlement = self.app.settlement(settlement_id)
        attempts = settlement.attempts + 1
        if not facts.retryable and not facts.channel_lost:
            if settlement.has_signed_proof:
                self._dead_letter(settlement, f"{facts.error_class}: {facts.message}")
            else:
                self.app.change_settlement(
                    settlement_id,
                    lambda s: s.fail(
                        facts.message, now, error_class=facts.error_class, alert=facts.alert
                    ),
                )
                self._release(settlement)
            return
        waited = now - settlement.requested_at
        if self.policy.exhausted(attempts) and not (
            facts.patient and waited < self.policy.patience
        ):
            self._dead_letter(
                settlement,
                f"{attempts} attempts exhausted; last {facts.error_class}: {facts.message}",
            )
            return
        next_at = now + self.policy.delay(attempts, self.rng)
        self.app.change_settlement(
            settlement_id,
            lambda s: s.attempt_failed(facts.error_class, facts.message, True, next_at, now),
        )

    def time_out(self, settlement_id: UUID) -> None:
        """Gives up on a stuck settlement; its reservation goes back unless a proof is out."""
        settlement = self.app.settlement(settlement_id)
        if settlement.is_terminal:
            return
        self.app.change_settlement(settlement_id, lambda s: s.time_out(self.clock()))
        if not settlement.has_signed_proof:
            self._release(settlement)

    def _dead_letter(self, settlement: Settlement, reason: str) -> None:
        self.app.change_settlement(settlement.id, lambda s: s.dead_letter(reason, self.clock()))
        if not settlement.has_signed_proof:
            self._release(settlement)

    def _release(self, settlement: Settlement) -> None:
        account = self.app.load(settlement.account_id, PeerAccount)
        if account.settlement_state(settlement.id) == "reserved":
            self.app.release(account.id, settlement.id)


def _channel_id(settlement: Settlement) -> UUID:
    if settlement.channel_id is None:
        raise AssertionError(f"settlement {settlement.id} has no channel at {settlement.status}")
    return settlement.channel_id


def _ms(delta: object) -> int:
    return int(delta.total_seconds() * 1000)  # type: ignore[attr-defined]
