"""Claims refused to a peer, made visible: what the receiver reports for each refusal (to the
metrics, through a callback bootstrap wires) and, for a paused peer, which pause refused it.

A refusal records no event yet: the domain has no event for it (left for when the domain
modules are split), so the answer to the peer, a structured log line and a metric are its
record. A pause's reason says what paused the account (`PeerAccount.Paused.reason`): a fraud
rule names itself ("fraud rule <rule> (<finding id>)"), the stale-proof pause names the double
spend, anything else is an operator's.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from application.claim_messages import Claim
from application.fraud import Rule

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
