"""The ledger's balances next to the balance read model's, per peer and asset."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.ledger.chart import Chart
from adapters.ledger.port import AccountBalance, LedgerPort


@dataclass(frozen=True)
class BalanceComparison:
    peer_id: str
    asset_code: str
    payable: int
    ledger_payable: int | None
    receivable: int
    ledger_receivable: int | None
    in_flight: int
    ledger_in_flight: int | None

    @property
    def matches(self) -> bool:
        return (self.payable, self.receivable, self.in_flight) == (
            self.ledger_payable,
            self.ledger_receivable,
            self.ledger_in_flight,
        )

    def as_row(self) -> dict[str, Any]:
        return {
            "peer_id": self.peer_id,
            "asset_code": self.asset_code,
            "payable": self.payable,
            "ledger_payable": self.ledger_payable,
            "receivable": self.receivable,
            "ledger_receivable": self.ledger_receivable,
            "in_flight": self.in_flight,
            "ledger_in_flight": self.ledger_in_flight,
            "matches": self.matches,
        }


def in_flight(account: AccountBalance) -> int:
    """Reserved (pending) plus reserved-and-posted not yet paid out."""
    return account.credits_pending + account.credits_posted - account.debits_posted


def compare_balances(
    ledger: LedgerPort, chart: Chart, read_model: Sequence[Mapping[str, Any]]
) -> list[BalanceComparison]:
    """One comparison per read-model row; ledger figures are None where accounts are missing."""
    peers = [chart.peer_accounts(row["peer_id"], row["asset_code"]) for row in read_model]
    wanted = [account.id for accounts in peers for account in accounts.all()]
    found = {a.id: a for a in ledger.lookup_accounts(wanted)} if wanted else {}
    comparisons = []
    for row, accounts in zip(read_model, peers, strict=True):
        payable = found.get(accounts.payable.id)
        receivable = found.get(accounts.receivable.id)
        held = found.get(accounts.in_flight.id)
        comparisons.append(
            BalanceComparison(
                peer_id=row["peer_id"],
                asset_code=row["asset_code"],
                payable=int(row["payable"]),
                ledger_payable=payable.credit_balance if payable else None,
                receivable=int(row["receivable"]),
                ledger_receivable=receivable.debit_balance if receivable else None,
                in_flight=int(row["in_flight"]),
                ledger_in_flight=in_flight(held) if held else None,
            )
        )
    return comparisons
