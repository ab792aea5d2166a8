"""Claims between nodes: verifying and crediting a peer's (delivering ours is in
`application.claims_delivery`, re-exported here). A claim is the signed balance proof of a
settlement, sent to the peer's node. The receiver checks what does not change under it: the sender
is the registered peer at the account's scale, the chain and token network are ours, the channel is
known (syncing the chain once if it is not yet) and with the sender, the proof is one the contract
would take and is signed by the partner. Then one atomic save records the proof on the Channel and
credits the increase it makes on the PeerAccount, decided on the state being saved
(`application.claims_credit`). A stale proof is recorded as a suspected double spend and, when
configured, pauses the peer. A paused peer's new claims are refused before any check that costs
(`paused`, the pause's reason in the answer); every refusal is reported to the refusal observer
(`application.claim_refusals`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any
from uuid import UUID

from application.app import SettlementApp
from application.chain_ports import TokenNetworkPort
from application.channel_directory import ChannelDirectory
from application.channels import ChannelService
from application.claim_handling import ClaimOutcome
from application.claim_messages import ChannelRef, Claim, RejectionCode, SignedProof
from application.claim_refusals import RefusalObserver, record_refusal, report_refusal
from application.claims_cooperative import CooperativeTermsCheck
from application.claims_credit import CreditResult, CreditVerdict, PartnerClaim
from application.claims_delivery import ClaimDelivery, DeliveryNotPossible
from application.rails.errors import UnknownRail
from application.rails.registry import ChainRail
from application.store import NotFound
from domain.address import Address
from domain.balance_proof import BalanceProof, InvalidProofSignature
from domain.channel import Channel
from domain.errors import DomainError, ExceedsReceivable, LossyConversion
from domain.final_balances import CooperativeSettlement
from domain.peer_account import PeerAccount

log = logging.getLogger(__name__)

EMPTY_LOCKS_ROOT = "0x" + "00" * 32
_KNOWN_CHANNELS_LIMIT = 10_000

# How each refusal the atomic save can make is answered.
_REFUSALS: dict[CreditVerdict, RejectionCode] = {
    CreditVerdict.CONFLICT: RejectionCode.CONFLICT,
    CreditVerdict.CHANNEL_NOT_OPEN: RejectionCode.INVALID,
    CreditVerdict.REPLAYED: RejectionCode.STALE_PROOF,
    CreditVerdict.STALE: RejectionCode.STALE_PROOF,
    CreditVerdict.PAUSED: RejectionCode.PAUSED,
    CreditVerdict.AMOUNT_ABOVE_INCREASE: RejectionCode.INVALID,
    CreditVerdict.AMOUNT_BELOW_INCREASE: RejectionCode.RETRY_LATER,
    CreditVerdict.BEYOND_DEPOSIT: RejectionCode.RETRY_LATER,
}


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
        on_refused: RefusalObserver | None = None,
    ) -> None:
        self.app = app
        self.node_id = node_id
        self.directory = directory
        self.channels = channels
        self.sync_chain = sync_chain
        self.pause_on_double_spend = pause_on_double_spend
        self.on_refused = on_refused  # set by bootstrap once the node's metrics exist
        self.cooperative = CooperativeTermsCheck(app, channels)
        self._known_lock = threading.Lock()
        self._known_channels: dict[tuple[int, Address, int], UUID] = {}

    def handle(self, claim: Claim) -> ClaimOutcome:
        try:
            outcome = self._handle(claim)
        except ExceedsReceivable as error:
            # The peer pays for packets this node has not recorded yet: ask for it again later.
            outcome = ClaimOutcome.rejected(RejectionCode.RETRY_LATER, str(error))
        except (DomainError, LossyConversion) as error:
            outcome = ClaimOutcome.rejected(RejectionCode.INVALID, str(error))
        if not outcome.accepted:
            paused = None
            if outcome.error == RejectionCode.PAUSED:
                account_id = PeerAccount.create_id(claim.sender_node, claim.asset_code)
                paused = self.app.load(account_id, PeerAccount).paused_reason or ""
            report_refusal(claim, str(outcome.error), paused, self.on_refused)
            record_refusal(self.app, claim, outcome)
        return outcome

    def _handle(self, claim: Claim) -> ClaimOutcome:
        account_id = PeerAccount.create_id(claim.sender_node, claim.asset_code)
        try:
            account = self.app.load(account_id, PeerAccount)
        except NotFound:
            return _reject(
                RejectionCode.INVALID,
                f"asset_code: no account for {claim.sender_node}/{claim.asset_code}",
            )
        fingerprint = claim.fingerprint()
        seen = self.app.received_claim(account_id, claim.claim_id)
        if seen is not None and seen.conflicts_with(fingerprint):
            # Answered before any other check, so that a reused id is a 409 whatever the new
            # body is; the atomic save checks it again for a reuse that races the first.
            return _reject(
                RejectionCode.CONFLICT,
                f"claim_id: {claim.claim_id!r} was received before with another body",
            )
        refusal = _sender_refusal(account, claim)
        if refusal is not None:
            return refusal
        if account.paused_reason is not None and seen is None:
            # Refused before the chain is synced or a signature checked: a paused peer (a fraud
            # rule's finding, a double spend, an operator) is not served until resumed. A claim
            # credited before the pause still gets its receipt (the save answers the duplicate),
            # and the save checks the pause again for one that races this check.
            return _reject(RejectionCode.PAUSED, _paused_detail(account.paused_reason))
        ref = claim.channel
        rail = self._rail(ref)
        if rail is None:
            return _reject(
                RejectionCode.WRONG_CHAIN,
                f"channel: chain {ref.chain_id} / {ref.token_network} is not a rail here",
            )
        channel = self._channel(ref, claim.proof.transferred_amount_int)
        if channel is None:
            return _reject(
                RejectionCode.UNKNOWN_CHANNEL,
                f"channel.onchain_id: no channel {ref.onchain_id} with the sender",
            )
        if Address(channel.partner_address) != Address(claim.sender_address):
            return _reject(RejectionCode.INVALID, "channel: the channel is not with the sender")
        try:
            verify_proof_signature(
                rail.network, claim.channel.onchain_id, claim.proof, channel.partner_address
            )
        except InvalidProofSignature as error:
            return _reject(RejectionCode.BAD_SIGNATURE, f"proof.{error}")
        terms: CooperativeSettlement | None = None
        if claim.cooperative_settle is not None:
            checked = self.cooperative.terms(channel, claim)
            if isinstance(checked, ClaimOutcome):
                return checked
            terms = checked
        result = self.app.receive_claim(
            channel.id,
            account_id,
            _partner_claim(claim, fingerprint),
            pause_on_double_spend=self.pause_on_double_spend,
        )
        return self._outcome(claim, channel, result, terms)

    def _outcome(
        self,
        claim: Claim,
        channel: Channel,
        result: CreditResult,
        terms: CooperativeSettlement | None,
    ) -> ClaimOutcome:
        receipt = f"{self.node_id}:{claim.claim_id}"
        facts = {"claim_id": claim.claim_id, "credited": result.credited}
        if result.verdict is CreditVerdict.CREDITED:
            log.info("claim credited", extra=facts)
            return ClaimOutcome.credited(receipt, self.cooperative.sign(channel.id, terms))
        if result.verdict is CreditVerdict.DUPLICATE:
            return ClaimOutcome.already_credited(receipt, self.cooperative.sign(channel.id, terms))
        if result.verdict is CreditVerdict.STALE:
            log.warning("stale claim: suspected double spend", extra=facts)
        return _reject(_REFUSALS[result.verdict], result.detail)

    def _rail(self, ref: ChannelRef) -> ChainRail | None:
        try:
            return self.channels.rails.serving(ref.chain_id, ref.token_network)
        except UnknownRail:
            return None

    def _channel(self, ref: ChannelRef, transferred: int) -> Channel | None:
        """Our view of the channel, syncing the chain once if it is unknown or its deposit
        does not yet cover the proof. Only to find the channel: amounts are decided on the
        state being saved."""
        channel = None
        for attempt in range(2):
            channel_id = self._channel_id(ref)
            channel = None if channel_id is None else self.app.channel(channel_id)
            if channel is not None and transferred <= channel.partner_deposit:
                return channel
            if attempt == 0:
                self.sync_chain()
        return channel

    def _channel_id(self, ref: ChannelRef) -> UUID | None:
        # A channel's on-chain id never changes, so once found it is kept: the directory would
        # catch its read model up and query the database on every claim.
        key = (ref.chain_id, Address(ref.token_network), ref.onchain_id)
        with self._known_lock:
            known = self._known_channels.get(key)
        if known is not None:
            return known
        found = self.directory.by_onchain_id(ref.chain_id, ref.token_network, ref.onchain_id)
        if found is not None:
            with self._known_lock:
                if len(self._known_channels) >= _KNOWN_CHANNELS_LIMIT:
                    self._known_channels.clear()
                self._known_channels[key] = found
        return found


def verify_proof_signature(
    network: TokenNetworkPort, onchain_id: int, proof: SignedProof, partner: str
) -> None:
    """Raises InvalidProofSignature unless `partner` signed `proof` for the network's contract.

    With the signature's ranges checked by the message as Signatures.sol checks them, this is
    the contract's verdict on the signature (the differential test on Anvil holds it to that).
    """
    balance_proof = BalanceProof(
        onchain_id,
        proof.nonce,
        proof.transferred_amount_int,
        proof.locked_amount_int,
        bytes.fromhex(proof.locks_root.removeprefix("0x")),
    )
    signature = bytes.fromhex(proof.signature.removeprefix("0x"))
    try:
        network.verify_partner_proof(balance_proof, signature, partner)
    except InvalidProofSignature:
        raise
    except Exception as error:
        # An r that is no point's x coordinate makes the recovery library raise; ecrecover
        # answers address(0) there, which the contract refuses like any wrong signer.
        log.info("signature recovery failed", extra={"problem": type(error).__name__})
        raise InvalidProofSignature(partner, None) from error


def _sender_refusal(account: PeerAccount, claim: Claim) -> ClaimOutcome | None:
    """A claim the account can never take: wrong scale, sender, or a proof with locks, which
    this node can neither credit nor use to close the channel."""
    if claim.asset_scale != account.asset_scale:
        return _reject(
            RejectionCode.INVALID,
            f"asset_scale: {claim.asset_scale} is not the account's scale {account.asset_scale}",
        )
    if account.address is None or Address(account.address) != Address(claim.sender_address):
        return _reject(
            RejectionCode.INVALID, "sender_address: is not the peer's registered address"
        )
    if claim.proof.locked_amount_int != 0:
        return _reject(
            RejectionCode.INVALID, "proof.locked_amount: must be 0 (no locked transfers here)"
        )
    if claim.proof.locks_root != EMPTY_LOCKS_ROOT:
        return _reject(RejectionCode.INVALID, "proof.locks_root: must be the empty root (0x00..)")
    return None


def _paused_detail(reason: str) -> str:
    return f"account is paused: {reason}; claims are refused until it is resumed"


def _partner_claim(claim: Claim, fingerprint: str) -> PartnerClaim:
    return PartnerClaim(
        claim_id=claim.claim_id,
        fingerprint=fingerprint,
        nonce=claim.proof.nonce,
        transferred_amount=claim.proof.transferred_amount_int,
        signature=_normalized_signature(claim.proof.signature),
        stated_amount=claim.amount_int,
    )


def _normalized_signature(signature: str) -> str:
    """Lower-case hex with v as 27 or 28, as Signatures.sol reads it: one proof, one spelling,
    so the same proof resent with v = 0 is a replay, not a double spend."""
    raw = bytearray(bytes.fromhex(signature.removeprefix("0x")))
    if raw[64] < 27:
        raw[64] += 27
    return "0x" + raw.hex()


def _reject(code: RejectionCode, detail: str) -> ClaimOutcome:
    return ClaimOutcome.rejected(code, detail)


__all__: list[Any] = [
    "ClaimDelivery",
    "ClaimReceiver",
    "DeliveryNotPossible",
    "verify_proof_signature",
]
