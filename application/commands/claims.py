"""Use cases on claims received from peers: a proof and its credit saved together, atomically."""

from __future__ import annotations

from uuid import UUID

from application.claims_credit import CreditResult, PartnerClaim, credit_claim
from application.store import AggregateStore
from domain.channel import Channel
from domain.peer_account import PeerAccount


class ClaimCommands(AggregateStore):
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
        return self._change_together(
            channel_id,
            Channel,
            account_id,
            PeerAccount,
            lambda channel, account: credit_claim(
                channel, account, claim, pause_on_double_spend=pause_on_double_spend
            ),
        )

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
