"""Settlements the peer pays us, as a peer account sees them: each verified claim credited once.

A credited claim lowers receivable. Which claim ids were credited (and the fingerprints of their
bodies, to tell a resent claim from another reusing its id) is not kept in the account's state:
that set would grow with every claim, in the state and every snapshot (issue 14). It lives in an
index written with the event (`application.claim_index`), which the application looks up inside
the atomic save before it calls `receive_settlement`. A claim refused for a fault of the sender
(a bad signature, a reused id, a paused account...) is recorded too, as a fact for audit and the
fraud rules; it changes no state, so it keeps none.
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

    class SettlementReceived(Aggregate.Event):
        claim_id: str
        amount: int
        fingerprint: str = ""  # absent from events stored before it was kept

        def apply(self, account: PeerAccount) -> None:
            account.receivable -= self.amount

    def receive_settlement(self, claim_id: str, amount: int, fingerprint: str = "") -> None:
        """Credits a verified claim. The caller has found no claim with this id in the index of
        received claims, inside the same atomic save (whose primary key refuses a racing second
        credit); `fingerprint` (a hash of the claim's body) is recorded for that index."""
        check_amount("amount", amount)
        if amount > self.receivable:
            raise ExceedsReceivable(claim_id, amount, self.receivable)
        self.trigger_event(
            self.SettlementReceived, claim_id=claim_id, amount=amount, fingerprint=fingerprint
        )

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
