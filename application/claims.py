"""Claims between nodes: delivering ours, and verifying and crediting a peer's.

A claim is the signed balance proof of a settlement, sent to the peer's node. The receiver
checks the sender is the registered peer, the chain and token network are ours, the channel is
known (syncing the chain once if it is not yet), the signature is the partner's, and the
proof moves forward; then records the proof on the Channel and credits receivable on the
PeerAccount in one atomic save, once per claim. A stale or lower proof is recorded as a
suspected double spend and, when configured, pauses the peer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from adapters.claims.client import ClaimClient
from adapters.claims.handler import ClaimOutcome
from adapters.claims.messages import (
    ChannelRef,
    Claim,
    ClaimAccepted,
    CooperativeTerms,
    RejectionCode,
    SignedProof,
)
from adapters.evm.balance_proof import BalanceProof, CooperativeSettlement, InvalidProofSignature
from application.app import SettlementApp
from application.channel_directory import ChannelDirectory
from application.channels import ChannelService
from application.store import NotFound
from domain.channel import Channel, ProofVerdict
from domain.errors import DomainError, ExceedsReceivable, LossyConversion
from domain.money import convert_scale
from domain.peer_account import PeerAccount
from domain.settlement import Settlement

log = logging.getLogger(__name__)

EMPTY_LOCKS_ROOT = "0x" + "00" * 32


class ClaimDelivery:
    """The ClaimPort: posts a settlement's claim to the peer's node."""

    def __init__(self, node_id: str, tokens: Mapping[str, str], timeout_seconds: float) -> None:
        self.node_id = node_id
        self.tokens = tokens
        self.timeout_seconds = timeout_seconds

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
        return ClaimClient(account.claims_url, token, self.timeout_seconds).deliver(claim)


class DeliveryNotPossible(Exception):
    retryable = False

    def __init__(self, peer_id: str, problem: str) -> None:
        self.peer_id = peer_id
        super().__init__(f"peer {peer_id!r} {problem}")


class ClaimReceiver:
    """The ClaimHandler: verifies and credits claims from peers."""

    def __init__(
        self,
        app: SettlementApp,
        node_id: str,
        directory: ChannelDirectory,
        channels: ChannelService,
        sync_chain: Callable[[], object],
        *,
        pause_on_double_spend: bool = True,
    ) -> None:
        self.app = app
        self.node_id = node_id
        self.directory = directory
        self.channels = channels
        self.sync_chain = sync_chain
        self.pause_on_double_spend = pause_on_double_spend

    def handle(self, claim: Claim) -> ClaimOutcome:
        try:
            return self._handle(claim)
        except ExceedsReceivable as error:
            # The peer pays for packets this node has not recorded yet: ask for it again later.
            return ClaimOutcome.rejected(RejectionCode.RETRY_LATER, str(error))
        except (DomainError, LossyConversion) as error:
            return ClaimOutcome.rejected(RejectionCode.INVALID, str(error))

    def _handle(self, claim: Claim) -> ClaimOutcome:
        account_id = PeerAccount.create_id(claim.sender_node, claim.asset_code)
        try:
            account = self.app.load(account_id, PeerAccount)
        except NotFound:
            return _reject(
                RejectionCode.INVALID, f"no account for {claim.sender_node}/{claim.asset_code}"
            )
        receipt = f"{self.node_id}:{claim.claim_id}"
        if claim.claim_id in account.claims_received:
            return self._already(claim, receipt)
        if account.paused_reason is not None:
            return _reject(RejectionCode.PAUSED, f"account is paused: {account.paused_reason}")
        if (account.address or "").lower() != claim.sender_address.lower():
            return _reject(
                RejectionCode.INVALID, "sender_address is not the peer's registered address"
            )
        ref = claim.channel
        try:
            rail = next(
                r
                for r in self.channels.rails.values()
                if r.chain_id == ref.chain_id
                and r.token_network.lower() == ref.token_network.lower()
            )
        except StopIteration:
            return _reject(
                RejectionCode.WRONG_CHAIN,
                f"chain {ref.chain_id} / {ref.token_network} is not a rail here",
            )
        channel = self._channel(ref, claim.proof.transferred_amount_int)
        if channel is None:
            return _reject(
                RejectionCode.UNKNOWN_CHANNEL, f"no channel {ref.onchain_id} with the sender"
            )
        if claim.proof.transferred_amount_int > channel.partner_deposit:
            return _reject(
                RejectionCode.RETRY_LATER,
                f"the proof pays past the partner's deposit seen ({channel.partner_deposit})",
            )
        if channel.partner_address.lower() != claim.sender_address.lower():
            return _reject(RejectionCode.INVALID, "the channel is not with the sender")
        proof = claim.proof
        balance_proof = BalanceProof(
            ref.onchain_id,
            proof.nonce,
            proof.transferred_amount_int,
            proof.locked_amount_int,
            bytes.fromhex(proof.locks_root.removeprefix("0x")),
        )
        try:
            rail.network.verify_partner_proof(
                balance_proof,
                bytes.fromhex(proof.signature.removeprefix("0x")),
                channel.partner_address,
            )
        except InvalidProofSignature as error:
            return _reject(RejectionCode.BAD_SIGNATURE, str(error))
        increase = proof.transferred_amount_int - channel.partner_transferred
        if proof.nonce > channel.partner_nonce and increase >= 0:
            paid = convert_scale(increase, rail.token_decimals, account.asset_scale)
            if paid != claim.amount_int:
                return _reject(
                    RejectionCode.INVALID, f"amount={claim.amount} but the proof pays {paid} more"
                )
        terms = None
        if claim.cooperative_settle is not None:
            terms = self._terms(channel, claim)
            if isinstance(terms, ClaimOutcome):
                return terms
        verdict = self.app.change_together(
            channel.id,
            Channel,
            account_id,
            PeerAccount,
            lambda c, a: self._record(c, a, claim),
        )
        if verdict is ProofVerdict.ACCEPTED:
            log.info("claim credited", extra={"claim_id": claim.claim_id, "amount": claim.amount})
            return ClaimOutcome.credited(receipt, self._sign_terms(channel.id, terms))
        if verdict is ProofVerdict.DUPLICATE:
            return ClaimOutcome.already_credited(receipt, self._sign_terms(channel.id, terms))
        log.warning("stale claim: suspected double spend", extra={"claim_id": claim.claim_id})
        return _reject(
            RejectionCode.STALE_PROOF,
            f"nonce {proof.nonce} does not move past {channel.partner_nonce}",
        )

    def _terms(self, channel: Channel, claim: Claim) -> CooperativeSettlement | ClaimOutcome:
        """The final balances as this node sees them with the claim's proof, if the sender's
        terms are the same and carry the partner's signature; else the rejection."""
        offered = claim.cooperative_settle
        assert offered is not None
        expected = self.channels.cooperative_settlement(
            channel, channel.our_transferred, claim.proof.transferred_amount_int
        )
        mine = (
            expected.participant1.lower(),
            expected.participant1_balance,
            expected.participant2.lower(),
            expected.participant2_balance,
        )
        theirs = (
            offered.participant1.lower(),
            int(offered.participant1_balance),
            offered.participant2.lower(),
            int(offered.participant2_balance),
        )
        if mine != theirs:
            return _reject(
                RejectionCode.INVALID,
                f"cooperative_settle: terms {theirs} differ from this node's {mine}",
            )
        try:
            self.channels.verify_cooperative(channel, expected, offered.signature)
        except InvalidProofSignature as error:
            return _reject(RejectionCode.BAD_SIGNATURE, f"cooperative_settle: {error}")
        return expected

    def _sign_terms(self, channel_id: Any, terms: CooperativeSettlement | None) -> str | None:
        """Signs the agreed final balances and stops paying on this channel: it is ending."""
        if terms is None:
            return None
        channel = self.app.channel(channel_id)
        self.app.change_channel(channel_id, lambda c: c.abandon("cooperative settlement agreed"))
        return self.channels.sign_cooperative(channel, terms)

    def _already(self, claim: Claim, receipt: str) -> ClaimOutcome:
        """A claim credited before; its cooperative terms are signed again (deterministically)."""
        if claim.cooperative_settle is None:
            return ClaimOutcome.already_credited(receipt)
        channel = self._channel(claim.channel, claim.proof.transferred_amount_int)
        if channel is None:
            return ClaimOutcome.already_credited(receipt)
        terms = self._terms(channel, claim)
        if isinstance(terms, ClaimOutcome):
            return terms
        return ClaimOutcome.already_credited(receipt, self._sign_terms(channel.id, terms))

    def _record(self, channel: Channel, account: PeerAccount, claim: Claim) -> ProofVerdict:
        proof = claim.proof
        verdict = channel.receive_partner_proof(
            proof.nonce, proof.transferred_amount_int, proof.signature
        )
        if verdict is ProofVerdict.ACCEPTED:
            account.receive_settlement(claim.claim_id, claim.amount_int)
        elif verdict is ProofVerdict.STALE and self.pause_on_double_spend:
            account.pause(f"suspected double spend on channel {claim.channel.onchain_id}")
        return verdict

    def _channel(self, ref: ChannelRef, transferred: int) -> Channel | None:
        """Our view of the channel, syncing the chain once if it is unknown or its deposit
        does not yet cover the proof."""
        for attempt in range(2):
            channel_id = self.directory.by_onchain_id(
                ref.chain_id, ref.token_network, ref.onchain_id
            )
            channel = None if channel_id is None else self.app.channel(channel_id)
            if channel is not None and transferred <= channel.partner_deposit:
                return channel
            if attempt == 0:
                self.sync_chain()
        return channel


def _reject(code: RejectionCode, detail: str) -> ClaimOutcome:
    return ClaimOutcome.rejected(code, detail)


__all__: list[Any] = ["ClaimDelivery", "ClaimReceiver", "DeliveryNotPossible"]
