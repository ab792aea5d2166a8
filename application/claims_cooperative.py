"""A claim's cooperative-settlement terms (on-chain mode): checked against this node's view of
the channel, and signed back once the claim is credited, which ends payments on the channel.
"""

from __future__ import annotations

from typing import Any

from application.app import SettlementApp
from application.channels import ChannelService
from application.claim_handling import ClaimOutcome
from application.claim_messages import Claim, RejectionCode
from domain.address import Address
from domain.balance_proof import InvalidProofSignature
from domain.channel import Channel
from domain.final_balances import CooperativeSettlement


class CooperativeTermsCheck:
    def __init__(self, app: SettlementApp, channels: ChannelService) -> None:
        self.app = app
        self.channels = channels

    def terms(self, channel: Channel, claim: Claim) -> CooperativeSettlement | ClaimOutcome:
        """The final balances as this node sees them with the claim's proof, if the sender's
        terms are the same and carry the partner's signature; else the rejection."""
        offered = claim.cooperative_settle
        assert offered is not None
        expected = self.channels.cooperative_settlement(
            channel, channel.our_transferred, claim.proof.transferred_amount_int
        )
        mine = (
            Address(expected.participant1),
            expected.participant1_balance,
            Address(expected.participant2),
            expected.participant2_balance,
        )
        theirs = (
            Address(offered.participant1),
            int(offered.participant1_balance),
            Address(offered.participant2),
            int(offered.participant2_balance),
        )
        if mine != theirs:
            return ClaimOutcome.rejected(
                RejectionCode.INVALID,
                f"cooperative_settle: terms {theirs} differ from this node's {mine}",
            )
        try:
            self.channels.verify_cooperative(channel, expected, offered.signature)
        except InvalidProofSignature as error:
            return ClaimOutcome.rejected(RejectionCode.BAD_SIGNATURE, f"cooperative_settle.{error}")
        return expected

    def sign(self, channel_id: Any, terms: CooperativeSettlement | None) -> str | None:
        """Signs the agreed final balances and stops paying on this channel: it is ending."""
        if terms is None:
            return None
        channel = self.app.channel(channel_id)
        self.app.end_channel_for_cooperative_settlement(channel_id)
        return self.channels.sign_cooperative(channel, terms)
