"""Delivering our claims: a settlement's signed balance proof, posted to the peer's node.

A claim carries the settlement's proof (and, in on-chain mode, signed final balances the peer
signs back); the claim id is the settlement id and nonce, so a resend is harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from application.claim_messages import (
    ChannelRef,
    Claim,
    ClaimAccepted,
    CooperativeTerms,
    SignedProof,
)
from domain.channel import Channel
from domain.final_balances import CooperativeSettlement
from domain.peer_account import PeerAccount
from domain.settlement import Settlement

EMPTY_LOCKS_ROOT = "0x" + "00" * 32


# Posts a claim to a peer's node (claims URL, bearer token) and returns its acceptance; raises
# an error tagged `retryable` when the peer could not take it. The HTTP client implements it.
ClaimSender = Callable[[str, str, Claim], ClaimAccepted]


class ClaimDelivery:
    """The ClaimPort: posts a settlement's claim to the peer's node."""

    def __init__(self, node_id: str, tokens: Mapping[str, str], send: ClaimSender) -> None:
        self.node_id = node_id
        self.tokens = tokens
        self.send = send

    def claim_for(
        self,
        account: PeerAccount,
        settlement: Settlement,
        channel: Channel,
        terms: CooperativeTerms | None = None,
    ) -> Claim:
        assert settlement.nonce is not None and settlement.transferred_amount is not None
        assert settlement.signature is not None and channel.onchain_id is not None
        return Claim(
            claim_id=f"{settlement.id}:{settlement.nonce}",
            sender_node=self.node_id,
            sender_address=channel.our_address,
            asset_code=account.asset_code,
            asset_scale=account.asset_scale,
            amount=str(settlement.amount),
            channel=ChannelRef(
                chain_id=channel.chain_id,
                token_network=channel.token_network,
                onchain_id=channel.onchain_id,
            ),
            proof=SignedProof(
                nonce=settlement.nonce,
                transferred_amount=str(settlement.transferred_amount),
                locks_root=EMPTY_LOCKS_ROOT,
                signature=settlement.signature,
            ),
            cooperative_settle=terms,
        )

    def deliver(self, account: PeerAccount, settlement: Settlement, channel: Channel) -> str:
        accepted = self._post(account, self.claim_for(account, settlement, channel))
        return f"{accepted.status}:{accepted.receipt}"

    def deliver_cooperatively(
        self,
        account: PeerAccount,
        settlement: Settlement,
        channel: Channel,
        terms: CooperativeSettlement,
        our_signature: str,
    ) -> tuple[str, str]:
        """Delivers the claim with signed final balances; returns the receipt and the peer's
        signature of the same balances."""
        offered = CooperativeTerms(
            participant1=terms.participant1,
            participant1_balance=str(terms.participant1_balance),
            participant2=terms.participant2,
            participant2_balance=str(terms.participant2_balance),
            signature=our_signature,
        )
        accepted = self._post(account, self.claim_for(account, settlement, channel, offered))
        if accepted.cooperative_signature is None:
            raise DeliveryNotPossible(account.peer_id, "did not sign the cooperative settlement")
        return f"{accepted.status}:{accepted.receipt}", accepted.cooperative_signature

    def _post(self, account: PeerAccount, claim: Claim) -> ClaimAccepted:
        if account.claims_url is None:
            raise DeliveryNotPossible(account.peer_id, "has no registered claims endpoint")
        token = self.tokens.get(account.peer_id)
        if token is None:
            raise DeliveryNotPossible(account.peer_id, "has no claims token configured")
        return self.send(account.claims_url, token, claim)


class DeliveryNotPossible(Exception):
    retryable = False

    def __init__(self, peer_id: str, problem: str) -> None:
        self.peer_id = peer_id
        super().__init__(f"peer {peer_id!r} {problem}")
