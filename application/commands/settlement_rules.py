"""What each settlement use case does to the aggregates it saves, decided on their fresh state.

Each function runs inside one atomic save (`application/commands/settlements.py`), so whatever
it checks is true of the state it records on. A promise stays a promise: once a signed proof
for a settlement is out (the account holds it as promised), its amount is never released —
only applied, or kept in flight by a dead letter for an operator.
"""

from __future__ import annotations

import random
from datetime import datetime
from enum import Enum
from uuid import UUID

from application.processes.ports import FailureFacts
from application.processes.retry_policy import RetryPolicy
from domain.channel import Channel
from domain.errors import IllegalTransition
from domain.peer_account import PeerAccount
from domain.settlement import Settlement, SettlementStatus

_ZERO_ROOT = "0x" + "00" * 32


class FailureOutcome(Enum):
    STALE = "stale"  # the settlement moved on since the step began: nothing to record
    RETRY = "retry"  # recorded; tried again after a backoff
    FAILED = "failed"  # ended (failed or timed out), its reservation back to payable
    DEAD_LETTERED = "dead_lettered"  # ended for an operator; a promised amount stays in flight


def reserve(account: PeerAccount, settlement: Settlement) -> None:
    if account.settlement_state(settlement.id) is not None:
        return  # reserved already (by the request, or by an earlier run of this step)
    if settlement.status != SettlementStatus.REQUESTED:
        raise IllegalTransition("Settlement", settlement.id, settlement.status, "be reserved")
    account.reserve(settlement.id, settlement.amount)


def choose_rail(rail: str, decision: dict[str, object], at: datetime, s: Settlement) -> None:
    if s.rail != rail:
        s.choose_rail(rail, dict(decision), at)


def channel_ready(
    channel_id: UUID, tx_hash: str | None, at: datetime, account: PeerAccount, s: Settlement
) -> None:
    if account.settlement_state(s.id) not in ("reserved", "promised"):
        state = f"{s.status} with nothing reserved"
        raise IllegalTransition("Settlement", s.id, state, "have its channel ready")
    s.channel_ready(channel_id, tx_hash, at)


def ready_on_rail(
    routing: tuple[str, dict[str, object]] | None,
    channel_id: UUID,
    tx_hash: str | None,
    at: datetime,
    account: PeerAccount,
    s: Settlement,
) -> None:
    """The rail chosen (if routed in this step) and the channel ready, in one save."""
    _require_its_account(account, s)
    if routing is not None:
        choose_rail(routing[0], routing[1], at, s)
    channel_ready(channel_id, tx_hash, at, account, s)


def ready_and_signed(
    routing: tuple[str, dict[str, object]] | None,
    token_amount: int,
    proof: tuple[int, int],
    signature: str,
    at: datetime,
    channel: Channel,
    s: Settlement,
    account: PeerAccount,
) -> None:
    """The rail chosen (if routed in this step), the channel ready and our proof on it signed,
    in one save, each with its own checks (reservation; the channel's next proof, within our
    deposit)."""
    ready_on_rail(routing, channel.id, None, at, account, s)
    proof_signed(token_amount, proof, signature, at, channel, s, account)


def proof_signed(
    token_amount: int,
    proof: tuple[int, int],
    signature: str,
    at: datetime,
    channel: Channel,
    s: Settlement,
    account: PeerAccount,
) -> None:
    nonce, transferred = proof
    if s.channel_id != channel.id:
        raise IllegalTransition("Settlement", s.id, s.status, f"sign on channel {channel.id}")
    s.proof_signed(nonce, transferred, signature, at)  # refuses a second proof
    if channel.next_proof(token_amount) != proof:  # signed on an older view of the channel
        state = f"at nonce {channel.our_nonce}, transferred {channel.our_transferred}"
        raise IllegalTransition("Channel", channel.id, state, f"record proof {proof}")
    channel.record_our_proof(nonce, transferred, 0, _ZERO_ROOT, signature)
    account.promise(s.id)


def delivered(receipt: str, at: datetime, onchain_tx_hash: str | None, s: Settlement) -> None:
    s.delivered(receipt, at, onchain_tx_hash=onchain_tx_hash)


def delivered_and_applied(receipt: str, at: datetime, account: PeerAccount, s: Settlement) -> None:
    """The peer acknowledged the claim: delivered, and its amount applied to the books."""
    _require_its_account(account, s)
    s.delivered(receipt, at)
    applied(at, account, s)


def applied(at: datetime, account: PeerAccount, s: Settlement) -> None:
    s.applied(at)  # only once delivered
    account.apply(s.id)


def complete(at: datetime, s: Settlement) -> None:
    s.complete(at)


def decide_failure(
    seen: SettlementStatus,
    failure: FailureFacts,
    policy: RetryPolicy,
    rng: random.Random,
    at: datetime,
    account: PeerAccount,
    s: Settlement,
) -> FailureOutcome:
    if s.is_terminal or s.status != seen:
        return FailureOutcome.STALE
    lost = failure.channel_lost and s.status in (
        SettlementStatus.CHANNEL_READY,
        SettlementStatus.PROOF_SIGNED,
    )
    if lost:
        s.channel_lost(failure.message, at)
    elif not failure.retryable:
        return _end(account, s, f"{failure.error_class}: {failure.message}", at, failure)
    attempts = s.attempts + 1
    if policy.gives_up(attempts, at - s.requested_at, patient=failure.patient):
        reason = (
            f"{attempts} attempts exhausted over {at - s.requested_at}; "
            f"last {failure.error_class}: {failure.message}"
        )
        return _end(account, s, reason, at, None)
    next_at = at + policy.delay(attempts, rng)
    s.attempt_failed(failure.error_class, failure.message, True, next_at, at)
    return FailureOutcome.RETRY


def time_out(at: datetime, account: PeerAccount, s: Settlement) -> FailureOutcome:
    if s.is_terminal:
        return FailureOutcome.STALE
    if _proof_out(account, s):
        s.dead_letter(f"stuck since {s.updated_at} with a signed proof out", at)
        return FailureOutcome.DEAD_LETTERED
    s.time_out(at)
    _release(account, s)
    return FailureOutcome.FAILED


def redelivered(at: datetime, account: PeerAccount, s: Settlement) -> None:
    if not _proof_out(account, s):
        raise IllegalTransition("Settlement", s.id, s.status, "be redelivered with no proof out")
    s.resolve_dead_letter("redelivered", None, at)
    account.apply(s.id)


def retry(key: str, at: datetime, account: PeerAccount, original: Settlement) -> Settlement:
    """The settlement that carries a dead letter's retry, reserved; the dead letter records it."""
    if account.settlement_in_flight:
        raise IllegalTransition(
            "Settlement", original.id, "dead_lettered", "be retried while another is in flight"
        )
    amount = min(original.amount, account.payable)
    if amount <= 0:
        raise IllegalTransition("Settlement", original.id, "nothing payable", "be retried")
    new = Settlement.request(key, account.id, account.peer_id, account.asset_code, amount, at)
    original.resolve_dead_letter("retried", new.id, at)  # refused with a proof out
    account.reserve(new.id, amount)
    return new


def discard(at: datetime, s: Settlement) -> None:
    s.resolve_dead_letter("discarded", None, at)  # refused with a proof out


def _end(
    account: PeerAccount,
    s: Settlement,
    reason: str,
    at: datetime,
    failure: FailureFacts | None,
) -> FailureOutcome:
    if _proof_out(account, s):
        s.dead_letter(reason, at)
        return FailureOutcome.DEAD_LETTERED
    if failure is None:
        s.dead_letter(reason, at)
        outcome = FailureOutcome.DEAD_LETTERED
    else:
        s.fail(failure.message, at, error_class=failure.error_class, alert=failure.alert)
        outcome = FailureOutcome.FAILED
    _release(account, s)
    return outcome


def _require_its_account(account: PeerAccount, s: Settlement) -> None:
    """A caller that named the account itself named the settlement's own."""
    if account.id != s.account_id:
        raise IllegalTransition("Settlement", s.id, s.status, f"change account {account.id}")


def _proof_out(account: PeerAccount, s: Settlement) -> bool:
    """A proof is out now, or was promised on a channel since lost: either way, never release."""
    return s.has_signed_proof or account.settlement_state(s.id) == "promised"


def _release(account: PeerAccount, s: Settlement) -> None:
    if account.settlement_state(s.id) == "reserved":
        account.release(s.id)
