"""Claims refused to a peer, made visible: what the receiver reports for each refusal (to the
metrics, through a callback bootstrap wires) and, for a paused peer, which pause refused it.

A refusal for a fault of the sender is also recorded as `PeerAccount.ClaimRefused` on its
account (`record_refusal`), for audit and the fraud rules; the answer to the peer, a structured
log line and a metric report every refusal. A pause's reason says what paused the account
(`PeerAccount.Paused.reason`): a fraud rule names itself ("fraud rule <rule> (<finding id>)"),
the stale-proof pause names the double spend, anything else is an operator's.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from application.claim_handling import ClaimOutcome
from application.claim_messages import Claim, RejectionCode
from application.fraud import Rule
from domain.peer_account import PeerAccount

if TYPE_CHECKING:
    from application.app import SettlementApp

log = logging.getLogger(__name__)

_FRAUD_RULE = re.compile(r"^fraud rule ([A-Za-z0-9_.-]{1,64}) \(")
DOUBLE_SPEND = "double_spend"
OPERATOR = "operator"


@dataclass(frozen=True)
class ClaimRefusal:
    """One claim refused: whose, which, the code answered and, for a pause, what paused it."""

    peer: str
    asset_code: str
    claim_id: str
    code: str
    pause_cause: str | None = None  # a fraud rule's name, "double_spend" or "operator"


RefusalObserver = Callable[[ClaimRefusal], None]


def pause_cause(reason: str) -> str:
    """What paused an account, from its pause reason: a bounded name, fit for a metric label."""
    rule = _FRAUD_RULE.match(reason)
    if rule is not None:
        # Only the rules this node knows: a label's values stay bounded whatever the reason.
        return rule.group(1) if rule.group(1) in set(Rule) else "fraud_rule"
    if "double spend" in reason:
        return DOUBLE_SPEND
    return OPERATOR


def report_refusal(
    claim: Claim, code: str, paused_reason: str | None, observer: RefusalObserver | None
) -> None:
    """A refused claim to the observer; for a paused peer also a warning naming the pause."""
    cause = None
    if paused_reason is not None:
        cause = pause_cause(paused_reason)
        log.warning(
            "claim refused: the peer is paused",
            extra={"peer": claim.sender_node, "asset_code": claim.asset_code,
                   "claim_id": claim.claim_id, "pause_reason": paused_reason,
                   "pause_cause": cause},
        )  # fmt: skip
    if observer is not None:
        observer(ClaimRefusal(claim.sender_node, claim.asset_code, claim.claim_id, code, cause))


# Refusals for a fault of the sender, recorded on its account. Not retry_later (the sender may
# be right, only early) and not stale_proof (the channel records that as a suspected double spend).
RECORDED_REFUSALS = frozenset(
    {
        RejectionCode.BAD_SIGNATURE,
        RejectionCode.CONFLICT,
        RejectionCode.INVALID,
        RejectionCode.PAUSED,
        RejectionCode.UNKNOWN_CHANNEL,
        RejectionCode.WRONG_CHAIN,
    }
)


def record_refusal(app: SettlementApp, claim: Claim, outcome: ClaimOutcome) -> None:
    """A refusal for a fault of the sender becomes an event on its account; one the sender may
    cure by sending again later is not a fault. Claims are rate-limited per peer before they
    get here, so a hostile peer cannot flood the log with refusals."""
    if outcome.error not in RECORDED_REFUSALS:
        return
    account_id = PeerAccount.create_id(claim.sender_node, claim.asset_code)
    if not app.exists(account_id):
        return  # no account to record it on: the answer and the log are its record
    app.record_claim_refused(account_id, claim.claim_id, str(outcome.error), outcome.detail)
