"""Settlements the peer pays us, as a peer account sees them: each verified claim credited once.

A credited claim lowers receivable; its id is remembered so that a resent claim is credited once,
and the fingerprint of its body so that another claim reusing the id can be told apart. A claim
refused for a fault of the sender (a bad signature, a reused id, a paused account...) is recorded
too, as a fact for audit and the fraud rules; it changes no state, so it keeps none.
`ReceivedClaims` is a part of `domain.peer_account.PeerAccount`; its event is stored under
PeerAccount's topic `domain.peer_account:PeerAccount.SettlementReceived`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from eventsourcing.domain import Aggregate

from domain.errors import ExceedsReceivable
from domain.money import check_amount

if TYPE_CHECKING:
    from domain.peer_account import PeerAccount

    _Base = Aggregate
else:
    # A plain class, so that PeerAccount redefines these events as its own (see PeerAccount).
    _Base = object


MAX_REFUSAL_TEXT = 300
MAX_REFUSAL_CODE = 40


class ReceivedClaims(_Base):
    """Crediting claims the peer sends us, once each."""

    if TYPE_CHECKING:  # state PeerAccount.__init__ sets; declared here for mypy only
        receivable: int
        claims_received: dict[str, int]  # not a set: snapshots are JSON

    class SettlementReceived(Aggregate.Event):
        claim_id: str
        amount: int
        fingerprint: str = ""  # absent from events stored before it was kept

        def apply(self, account: PeerAccount) -> None:
            account.receivable -= self.amount
            account.claims_received[self.claim_id] = self.amount
            if self.fingerprint:
                account._claim_fingerprints()[self.claim_id] = self.fingerprint

    def receive_settlement(self, claim_id: str, amount: int, fingerprint: str = "") -> bool:
        """Credits a verified claim once; returns False when the claim was already received.
        `fingerprint` (a hash of the claim's body) tells a resent claim from another claim
        that reuses its id; see `received_fingerprint`."""
        check_amount("amount", amount)
        if claim_id in self.claims_received:
            return False
        if amount > self.receivable:
            raise ExceedsReceivable(claim_id, amount, self.receivable)
        self.trigger_event(
            self.SettlementReceived, claim_id=claim_id, amount=amount, fingerprint=fingerprint
        )
        return True

    class ClaimRefused(Aggregate.Event):
        claim_id: str
        code: str  # the code answered to the peer (application.claim_messages.RejectionCode)
        detail: str

        def apply(self, account: PeerAccount) -> None:
            pass  # a record of what was refused and why; the account's state is unchanged

    def refuse_claim(self, claim_id: str, code: str, detail: str) -> None:
        """Records a claim refused to the peer. The claim id and detail come from the peer's
        request: they are bounded here, so a hostile claim cannot bloat the log."""
        self.trigger_event(
            self.ClaimRefused,
            claim_id=claim_id[:MAX_REFUSAL_TEXT],
            code=code[:MAX_REFUSAL_CODE],
            detail=detail[:MAX_REFUSAL_TEXT],
        )

    def received_fingerprint(self, claim_id: str) -> str | None:
        """The fingerprint a received claim was credited with ("" if credited before fingerprints
        were kept), or None if no claim with this id was credited."""
        if claim_id not in self.claims_received:
            return None
        return self._claim_fingerprints().get(claim_id, "")

    def _claim_fingerprints(self) -> dict[str, str]:
        # Kept beside claims_received (whose values stay the amounts); accounts and snapshots
        # stored before fingerprints existed have none, so it is made on first use.
        fingerprints: dict[str, str] = self.__dict__.setdefault("claim_fingerprints", {})
        return fingerprints
