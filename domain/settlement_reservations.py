"""Settlements we pay, as a peer account sees them: payable reserved, promised, applied, released.

A reservation moves payable to in-flight; once a signed proof for it is out it is promised and can
only be applied (in-flight out); while no proof is out it may be released (back to payable).
The account keeps only the OPEN settlements (reserved or promised) and a count of every one it
ever reserved, so its state and snapshots stay small whatever the history (issue 14). A finished
settlement's id is not remembered here: every id is a `Settlement` aggregate's, created in the
same atomic save as its reservation, so a reused id is refused by the application (see
`application.commands.settlements`), and a finished settlement's end is the `Settlement`'s.
`SettlementReservations` is a part of `domain.peer_account.PeerAccount`; its events are stored
under PeerAccount's topics (`domain.peer_account:PeerAccount.SettlementReserved`, ...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import InsufficientPayable, SettlementIdReused, UnknownSettlement
from domain.money import check_amount

if TYPE_CHECKING:
    from domain.peer_account import PeerAccount

    _Base = Aggregate
else:
    # A plain class, so that PeerAccount redefines these events as its own (see PeerAccount).
    _Base = object

OPEN_SETTLEMENT = ("reserved", "promised")
"""The states of a settlement the account keeps: its amount is in flight."""


class SettlementReservations(_Base):
    """Reserving payable for a settlement, and how each reservation ends."""

    if TYPE_CHECKING:  # state PeerAccount.__init__ sets; declared here for mypy only
        threshold: int
        payable: int
        in_flight: int
        paused_reason: str | None
        threshold_armed: bool
        # open settlement id (hex) -> [amount, "reserved" | "promised"]
        settlements: dict[str, list[Any]]
        settlements_started: int

        def _check_not_paused(self) -> None: ...

    class SettlementReserved(Aggregate.Event):
        settlement_id: UUID
        amount: int

        def apply(self, account: PeerAccount) -> None:
            account.payable -= self.amount
            account.in_flight += self.amount
            account.settlements[self.settlement_id.hex] = [self.amount, "reserved"]
            account.settlements_started += 1
            if account.payable < account.threshold:
                account.threshold_armed = True

    class SettlementPromised(Aggregate.Event):
        settlement_id: UUID
        amount: int

        def apply(self, account: PeerAccount) -> None:
            account.settlements[self.settlement_id.hex][1] = "promised"

    class SettlementApplied(Aggregate.Event):
        settlement_id: UUID
        amount: int

        def apply(self, account: PeerAccount) -> None:
            account.in_flight -= self.amount
            del account.settlements[self.settlement_id.hex]

    class SettlementReleased(Aggregate.Event):
        settlement_id: UUID
        amount: int

        def apply(self, account: PeerAccount) -> None:
            account.in_flight -= self.amount
            account.payable += self.amount
            del account.settlements[self.settlement_id.hex]

    def reserve(self, settlement_id: UUID, amount: int) -> None:
        """Refuses an open settlement's id; a finished one's is refused by the application, which
        reserves only in the save that creates the `Settlement` of that id."""
        check_amount("amount", amount)
        self._check_not_paused()
        if settlement_id.hex in self.settlements:
            raise SettlementIdReused(settlement_id)
        if amount > self.payable:
            raise InsufficientPayable(settlement_id, amount, self.payable)
        self.trigger_event(self.SettlementReserved, settlement_id=settlement_id, amount=amount)

    def promise(self, settlement_id: UUID) -> None:
        """A signed proof for the settlement is out: its amount now belongs to the peer and can
        only be applied. Promising it again (a proof on a new channel) changes nothing."""
        if self.settlement_state(settlement_id) == "promised":
            return
        amount = self._reserved_amount(settlement_id)
        self.trigger_event(self.SettlementPromised, settlement_id=settlement_id, amount=amount)

    def apply(self, settlement_id: UUID) -> None:
        amount = self._reserved_amount(settlement_id, *OPEN_SETTLEMENT)
        self.trigger_event(self.SettlementApplied, settlement_id=settlement_id, amount=amount)

    def release(self, settlement_id: UUID) -> None:
        """Only a reservation with no proof out goes back to payable."""
        amount = self._reserved_amount(settlement_id)
        self.trigger_event(self.SettlementReleased, settlement_id=settlement_id, amount=amount)

    def settlement_state(self, settlement_id: UUID) -> str | None:
        """Its state while open, "reserved" or "promised"; None once applied or released."""
        entry = self.settlements.get(settlement_id.hex)
        return None if entry is None else str(entry[1])

    @property
    def settlement_sequence(self) -> int:
        """How many settlements this account ever reserved: the next one's number."""
        return self.settlements_started

    @property
    def settlement_in_flight(self) -> bool:
        """A settlement holds part of the payable (reserved or promised) and is not over."""
        return bool(self.settlements)

    @property
    def settlement_due(self) -> bool:
        """Payable reached the threshold, nothing is in flight and the account is not paused."""
        due = self.payable >= self.threshold and self.paused_reason is None
        return due and not self.settlement_in_flight

    def _reserved_amount(self, settlement_id: UUID, *states: str) -> int:
        entry = self.settlements.get(settlement_id.hex)
        if entry is None or entry[1] not in (states or ("reserved",)):
            raise UnknownSettlement(settlement_id, "not open" if entry is None else entry[1])
        return int(entry[0])
