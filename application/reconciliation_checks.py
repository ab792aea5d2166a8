"""The comparisons of a reconciliation run: pure functions from two sides' figures to differences.

Each difference names its check, the thing compared (`subject`, e.g. a channel or an account),
the field, both sides' values and the amount by which they differ (actual minus books, in the
field's unit), so an operator can act on it without re-running anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from application.chain_ports import OnchainChannelState

CHECKS = ("replay", "ledger", "chain", "claims")
"""replay: read models vs the events; ledger: ledger vs read models; chain: chain vs books;
claims: our signed proofs vs the peer's acknowledgements."""

_BOOK_STATES = {
    "opened": OnchainChannelState.OPENED,
    "closed": OnchainChannelState.CLOSED,
    "settled": OnchainChannelState.SETTLED,
}


@dataclass(frozen=True)
class Difference:
    check: str
    subject: str
    field: str
    books: Any
    actual: Any
    amount: int | None = None  # actual minus books, where both are amounts
    unit: str = ""
    detail: str = ""

    def as_row(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "subject": self.subject,
            "field": self.field,
            "books": self.books,
            "actual": self.actual,
            "amount": self.amount,
            "unit": self.unit,
            "detail": self.detail,
        }


def _amount(value: Any) -> int | None:
    return int(value) if isinstance(value, int) or str(value).lstrip("-").isdigit() else None


def replay_differences(tables: Iterable[Any]) -> list[Difference]:
    """Rows of a live read model that differ from its rebuild: each differing column once."""
    found = []
    for diff in tables:
        live, rebuilt = diff.live or {}, diff.rebuilt or {}
        subject = f"{diff.table}/{diff.key}"
        if not live or not rebuilt:
            found.append(
                Difference(
                    "replay",
                    subject,
                    "row",
                    "present" if rebuilt else "absent",
                    "present" if live else "absent",
                    detail="row only on one side",
                )
            )
            continue
        for column in sorted(set(live) | set(rebuilt)):
            if live.get(column) == rebuilt.get(column):
                continue
            live_value, rebuilt_value = live.get(column), rebuilt.get(column)
            a, b = _amount(live_value), _amount(rebuilt_value)
            found.append(
                Difference(
                    "replay",
                    subject,
                    column,
                    rebuilt_value,
                    live_value,
                    amount=None if a is None or b is None else a - b,
                    detail="books: rebuilt from the events; actual: the live read model",
                )
            )
    return found


def ledger_differences(comparisons: Iterable[Any]) -> list[Difference]:
    """Ledger balances (actual) against the balances read model (books), per account."""
    found = []
    for c in comparisons:
        subject = f"{c.peer_id}/{c.asset_code}"
        for name in ("payable", "receivable", "in_flight"):
            books, ledger = getattr(c, name), getattr(c, f"ledger_{name}")
            if books == ledger:
                continue
            found.append(
                Difference(
                    "ledger",
                    subject,
                    name,
                    books,
                    ledger,
                    amount=None if ledger is None else ledger - books,
                    unit=c.asset_code,
                    detail="ledger account missing" if ledger is None else "",
                )
            )
    return found


@dataclass(frozen=True)
class ChainChannel:
    """One channel as the TokenNetwork has it."""

    state: OnchainChannelState
    our_deposit: int
    partner_deposit: int


def channel_differences(book: Mapping[str, Any], chain: ChainChannel) -> list[Difference]:
    """A channel of the channels read model against the TokenNetwork's view of it."""
    subject = f"channel {book['channel_id']} (on chain {book['onchain_id']})"
    found = []
    books_state = _BOOK_STATES.get(str(book["state"]))
    at_stake = int(book["our_deposit"]) + int(book["partner_deposit"])
    if books_state is not None and books_state != chain.state:
        found.append(
            Difference(
                "chain",
                subject,
                "state",
                str(book["state"]),
                chain.state.name.lower(),
                amount=at_stake,
                unit="token",
                detail="amount: the channel's total deposit the books hold",
            )
        )
    for side in ("our_deposit", "partner_deposit"):
        books, actual = int(book[side]), getattr(chain, side)
        if books != actual:
            found.append(
                Difference(
                    "chain", subject, side, books, actual, amount=actual - books, unit="token"
                )
            )
    return found


@dataclass(frozen=True)
class Acknowledgement:
    """A settlement's proof on a channel and the receipt its delivery recorded (or None)."""

    settlement_id: str
    nonce: int
    transferred_amount: int
    receipt: str | None


@dataclass
class ChannelProofs:
    channel_id: str
    our_nonce: int
    our_transferred: int
    acknowledgements: list[Acknowledgement] = field(default_factory=list)
    delivering: bool = False  # a settlement on it signed a proof lately and is delivering it


def names_claim(receipt: str, ack: Acknowledgement) -> bool:
    """A receipt is `status:node:claim_id`, the claim id `settlement_id:nonce`."""
    status = receipt.partition(":")[0]
    claim_id = f"{ack.settlement_id}:{ack.nonce}"
    return status in ("accepted", "duplicate") and receipt.endswith(f":{claim_id}")


def claim_differences(proofs: ChannelProofs) -> list[Difference]:
    """Our latest signed proof on a channel against the latest one the peer acknowledged.

    Proofs are cumulative, so only the latest counts: what we signed beyond the latest
    acknowledged transferred amount is what the peer holds from us without having said so.
    """
    found: list[Difference] = []
    acknowledged_nonce, acknowledged = 0, 0
    for ack in proofs.acknowledgements:
        if ack.receipt is not None and not names_claim(ack.receipt, ack):
            found.append(
                Difference(
                    "claims",
                    f"settlement {ack.settlement_id}",
                    "receipt",
                    f"{ack.settlement_id}:{ack.nonce}",
                    ack.receipt,
                    detail="the receipt does not acknowledge this claim",
                )
            )
        elif ack.receipt is not None and ack.nonce > acknowledged_nonce:
            acknowledged_nonce, acknowledged = ack.nonce, ack.transferred_amount
    if proofs.our_nonce > acknowledged_nonce and not proofs.delivering:
        found.append(
            Difference(
                "claims",
                f"channel {proofs.channel_id}",
                "acknowledged_transferred",
                proofs.our_transferred,
                acknowledged,
                amount=acknowledged - proofs.our_transferred,
                unit="token",
                detail=(
                    f"signed through nonce {proofs.our_nonce}; "
                    f"acknowledged through nonce {acknowledged_nonce}"
                ),
            )
        )
    return found
