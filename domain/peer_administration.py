"""Administering a peer account: where the peer settles, pauses, fraud findings and limits.

`PeerAdministration` is a part of `domain.peer_account.PeerAccount`; its events are stored under
PeerAccount's topics (`domain.peer_account:PeerAccount.PeerRegistered`, ...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

from domain.errors import InvalidAmount, InvalidField
from domain.money import check_amount

if TYPE_CHECKING:
    from domain.peer_account import PeerAccount

    _Base = Aggregate
else:
    # A plain class, so that PeerAccount redefines these events as its own (see PeerAccount).
    _Base = object

MAX_RECENT_FINDINGS = 256
"""Fraud finding ids an account remembers, to record each finding once."""


def check_threshold(threshold: int, settle_to: int) -> None:
    check_amount("threshold", threshold)
    check_amount("settle_to", settle_to, allow_zero=True)
    if settle_to >= threshold:
        raise InvalidAmount("settle_to", settle_to, f"must be below the threshold {threshold}")


class PeerAdministration(_Base):
    """Registration, pausing and resuming, fraud findings, threshold and credit limit."""

    if TYPE_CHECKING:  # state PeerAccount.__init__ sets; declared here for mypy only
        threshold: int
        settle_to: int
        credit_limit: int
        payable: int
        paused_reason: str | None
        threshold_armed: bool
        address: str | None
        rails: list[str]
        preferred_rail: str | None
        claims_url: str | None

    # Registration: where and how the peer settles

    class PeerRegistered(Aggregate.Event):
        address: str
        rails: list[str]
        preferred_rail: str
        claims_url: str

        def apply(self, account: PeerAccount) -> None:
            account.address = self.address
            account.rails = list(self.rails)
            account.preferred_rail = self.preferred_rail
            account.claims_url = self.claims_url

    def register(
        self, address: str, rails: list[str], preferred_rail: str, claims_url: str
    ) -> bool:
        """Records the peer's chain address, rails and claims endpoint; False if unchanged."""
        if not (address.startswith("0x") and len(address) == 42):
            raise InvalidField("address", address, "must be a 0x-prefixed 20-byte hex address")
        if not rails or len(set(rails)) != len(rails):
            raise InvalidField("rails", rails, "must name at least one rail, each once")
        if preferred_rail not in rails:
            raise InvalidField("preferred_rail", preferred_rail, f"must be one of {rails}")
        if not claims_url.startswith(("http://", "https://")):
            raise InvalidField("claims_url", claims_url, "must be an http(s) URL")
        current = (self.address, self.rails, self.preferred_rail, self.claims_url)
        if current == (address, list(rails), preferred_rail, claims_url):
            return False
        self.trigger_event(
            self.PeerRegistered,
            address=address,
            rails=list(rails),
            preferred_rail=preferred_rail,
            claims_url=claims_url,
        )
        return True

    # Pausing

    class Paused(Aggregate.Event):
        reason: str  # a fraud rule's pause names the rule: "fraud rule <rule> (<finding id>)"

        def apply(self, account: PeerAccount) -> None:
            account.paused_reason = self.reason

    def pause(self, reason: str) -> None:
        if not reason:
            raise InvalidField("reason", reason, "a pause needs a reason")
        if self.paused_reason is None:
            self.trigger_event(self.Paused, reason=reason)

    class Resumed(Aggregate.Event):
        resumed_by: str = ""  # absent from events stored before it was kept

        def apply(self, account: PeerAccount) -> None:
            account.paused_reason = None

    def resume(self, resumed_by: str = "") -> None:
        if self.paused_reason is not None:
            self.trigger_event(self.Resumed, resumed_by=resumed_by)

    # Fraud findings (from the fraud rules follower): each recorded once by its id.

    class FraudSuspected(Aggregate.Event):
        finding_id: str
        rule: str
        facts: dict[str, Any]
        action: str  # "alert" or "pause"

        def apply(self, account: PeerAccount) -> None:
            recent = account._recent_findings()
            recent.append(self.finding_id)
            # A finding repeats only when its follower re-applies its last batch: a short memory
            # suffices, and the state kept per account stays bounded.
            del recent[:-MAX_RECENT_FINDINGS]

    def suspect_fraud(self, finding_id: str, rule: str, facts: dict[str, Any], pause: bool) -> bool:
        """Records a finding once (False if its id was recorded lately); with `pause`, also
        pauses the account naming the rule, unless it is paused already."""
        if not finding_id or not rule:
            raise InvalidField("finding_id", finding_id, "a finding needs an id and a rule")
        if finding_id in self._recent_findings():
            return False
        action = "pause" if pause else "alert"
        self.trigger_event(
            self.FraudSuspected, finding_id=finding_id, rule=rule, facts=facts, action=action
        )
        if pause and self.paused_reason is None:
            self.trigger_event(self.Paused, reason=f"fraud rule {rule} ({finding_id})")
        return True

    def _recent_findings(self) -> list[str]:
        # Made on first use: accounts and snapshots stored before findings existed have none.
        recent: list[str] = self.__dict__.setdefault("recent_findings", [])
        return recent

    # Limits

    class ThresholdChanged(Aggregate.Event):
        threshold: int
        settle_to: int

        def apply(self, account: PeerAccount) -> None:
            account.threshold = self.threshold
            account.settle_to = self.settle_to
            if account.payable < self.threshold:
                account.threshold_armed = True

    def change_threshold(self, threshold: int, settle_to: int) -> None:
        check_threshold(threshold, settle_to)
        self.trigger_event(self.ThresholdChanged, threshold=threshold, settle_to=settle_to)

    class CreditLimitChanged(Aggregate.Event):
        credit_limit: int

        def apply(self, account: PeerAccount) -> None:
            account.credit_limit = self.credit_limit

    def change_credit_limit(self, credit_limit: int) -> None:
        check_amount("credit_limit", credit_limit, allow_zero=True)
        self.trigger_event(self.CreditLimitChanged, credit_limit=credit_limit)
