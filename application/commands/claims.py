"""Use cases on claims received from peers: a proof and its credit saved together, atomically.

Credited claim ids live in an index of received claims, not in the account
(`application.claim_index` says why and how): `receive_claim` looks the id up inside the atomic
save, and every save hands the index rows of the claims it credits to the event recorder, to be
written with the events.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import Recording

from application.claim_index import (
    MIN_WINDOW,
    InMemoryReceivedClaimIndex,
    ReceivedClaimIndex,
    ReceivedClaimRow,
    rows_of,
)
from application.claims_credit import CreditResult, PartnerClaim, credit_claim
from application.clock import system_clock
from application.store import AggregateStore, NotFound
from domain.channel import Channel
from domain.channel_state import ChannelState
from domain.peer_account import PeerAccount


class ClaimCommands(AggregateStore):
    claim_window: timedelta = MIN_WINDOW
    """How long a claim id of a settled channel is remembered: bootstrap sets it from the
    settings (`claims.idempotency_window_hours`)."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        # The PostgreSQL recorder has its table (written in its insert transaction); the
        # in-memory store gets a dict written under a lock in `_record`.
        index: ReceivedClaimIndex | None = getattr(self.recorder, "received_claim_index", None)
        self.received_claims: ReceivedClaimIndex = (
            index if index is not None else InMemoryReceivedClaimIndex(self._channel_settled)
        )

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        """Records the events together with the index rows of the claims they credit (other
        mixins add their own rows the same way: each calls the next `_record`)."""
        rows = rows_of(processing_event.events)
        if not rows:
            return super()._record(processing_event)
        index = self.received_claims
        if isinstance(index, InMemoryReceivedClaimIndex):
            with index.lock:
                index.check_new(rows)
                recordings = super()._record(processing_event)
                index.add(rows)
            return recordings
        processing_event.saved_kwargs["received_claims"] = rows
        return super()._record(processing_event)

    def receive_claim(
        self,
        channel_id: UUID,
        account_id: UUID,
        claim: PartnerClaim,
        *,
        pause_on_double_spend: bool,
    ) -> CreditResult:
        """Records a verified claim's proof on the channel and credits the increase it makes on
        the account, both decided on the state being saved and saved in one transaction."""

        def credit(channel: Channel, account: PeerAccount) -> CreditResult:
            # Inside the attempt: after a conflicting writer, it runs again and finds the row.
            seen = self.received_claims.find(account.id, claim.claim_id)
            return credit_claim(
                channel, account, claim, seen, pause_on_double_spend=pause_on_double_spend
            )

        return self._change_together(channel_id, Channel, account_id, PeerAccount, credit)

    def receive_settlement(self, account_id: UUID, claim_id: str, amount: int) -> bool:
        """Credits a settlement the peer paid outside a channel, once per claim id; False when
        the id was credited before."""

        def credit(account: PeerAccount) -> bool:
            if self.received_claims.find(account.id, claim_id) is not None:
                return False
            account.receive_settlement(claim_id, amount)
            return True

        return self._change(account_id, PeerAccount, credit)

    def received_claim(self, account_id: UUID, claim_id: str) -> ReceivedClaimRow | None:
        """The claim credited under `claim_id`, if any (and not forgotten)."""
        return self.received_claims.find(account_id, claim_id)

    def credited_claims(self, account_id: UUID) -> dict[str, int]:
        """Claim id -> minor units credited, of the claims the index still holds."""
        return self.received_claims.amounts_of(account_id)

    def forget_claims_before(self, cutoff: datetime) -> int:
        """Deletes the index rows of claims received before `cutoff` on settled channels."""
        return self.received_claims.delete_settled_before(cutoff)

    def forget_expired_claims(self) -> int:
        """Forgets the claims of settled channels older than the window: their channel takes no
        proof any more, so no claim on it can be credited whatever its id."""
        clock = getattr(self, "clock", system_clock)
        return self.forget_claims_before(clock() - self.claim_window)

    def record_claim_refused(self, account_id: UUID, claim_id: str, code: str, detail: str) -> None:
        """Records on the peer's account that one of its claims was refused, and why."""
        self._change(
            account_id, PeerAccount, lambda account: account.refuse_claim(claim_id, code, detail)
        )

    def end_channel_for_cooperative_settlement(self, channel_id: UUID) -> None:
        """Stops paying on a channel whose final balances this node agreed to sign."""
        self._change(
            channel_id, Channel, lambda channel: channel.abandon("cooperative settlement agreed")
        )

    def _channel_settled(self, channel_id: UUID) -> bool:
        try:
            return self.load(channel_id, Channel).state == ChannelState.SETTLED
        except NotFound:
            return False
