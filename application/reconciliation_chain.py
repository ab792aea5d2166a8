"""The chain's own account of a TokenNetwork, folded from its logs, and the checks against it.

A TokenNetwork holds every channel opened on it, ours and other participants' alike, so its
token balance says nothing about our books by itself. What it should hold follows from its own
logs: every `ChannelNewDeposit` raises a participant's total deposit (the increase is pulled
in), every `ChannelSettled` pays the channel's amounts out, and the contract has no withdraw.
`EscrowTally` folds those logs; the checks compare the balance with the logs, our channels'
share of them with the books, and name the channels with our address the books do not know.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from application.chain_ports import ChannelLog
from application.reconciliation_checks import Difference
from domain.address import Address

_HOLDING = ("opened", "closed")  # channel states whose deposits are in escrow


@dataclass
class SeenChannel:
    """A channel with our address as the TokenNetwork's logs tell it."""

    onchain_id: int
    partner: str
    opened_block: int
    state: str = "opened"
    our_deposit: int = 0
    partner_deposit: int = 0

    @property
    def held(self) -> int:
        return self.our_deposit + self.partner_deposit if self.state in _HOLDING else 0


@dataclass
class EscrowTally:
    """A fold of one TokenNetwork's channel logs, block range after block range.

    `expected` is what the contract should hold after the logs folded so far (deposits minus
    payouts). Deposits are kept per channel and participant only until the channel settles,
    so the state is bounded by the channels open on the contract, plus our own channels.
    """

    our_address: Address
    next_block: int
    expected: int = 0
    ours: dict[int, SeenChannel] = field(default_factory=dict)
    _deposits: dict[int, dict[Address, int]] = field(default_factory=dict)

    def fold(self, logs: Iterable[ChannelLog], next_block: int) -> None:
        for channel_log in logs:
            self.apply(channel_log)
        self.next_block = next_block

    def apply(self, channel_log: ChannelLog) -> None:
        channel, fields = channel_log.onchain_channel_id, channel_log.fields
        if channel_log.kind == "ChannelOpened":
            participants = (str(fields["participant1"]), str(fields["participant2"]))
            if self.our_address in map(Address, participants):
                # As the log spells it (checksummed), for the operator reading the report.
                partner = next(p for p in participants if Address(p) != self.our_address)
                self.ours[channel] = SeenChannel(channel, partner, channel_log.block_number)
        elif channel_log.kind == "ChannelNewDeposit":
            participant, total = Address(fields["participant"]), int(fields["totalDeposit"])
            deposits = self._deposits.setdefault(channel, {})
            self.expected += total - deposits.get(participant, 0)
            deposits[participant] = total
            seen = self.ours.get(channel)
            if seen is not None:
                if participant == self.our_address:
                    seen.our_deposit = total
                else:
                    seen.partner_deposit = total
        elif channel_log.kind == "ChannelClosed" and channel in self.ours:
            self.ours[channel].state = "closed"
        elif channel_log.kind == "ChannelSettled":
            paid = int(fields["participant1Amount"]) + int(fields["participant2Amount"])
            self.expected -= paid
            self._deposits.pop(channel, None)
            if channel in self.ours:
                self.ours[channel].state = "settled"


@dataclass(frozen=True)
class ChainEscrow:
    """One TokenNetwork read through block `block`: its balance and its logs' account."""

    token_network: str
    block: int  # logs folded through this block; the balance read at it
    balance: int
    expected: int  # deposits minus payouts, from the logs
    ours: tuple[SeenChannel, ...]
    synced_to: int | None  # the chain sync's next unread block; None if it never ran


def escrow_differences(escrow: ChainEscrow) -> list[Difference]:
    """The token balance against what the contract's own logs say it holds."""
    if escrow.balance == escrow.expected:
        return []
    return [
        Difference(
            "chain",
            f"token network {escrow.token_network}",
            "escrow_balance",
            escrow.expected,
            escrow.balance,
            amount=escrow.balance - escrow.expected,
            unit="token",
            detail=(
                f"books: deposits minus payouts in the contract's logs through block"
                f" {escrow.block}; actual: its token balance at that block"
            ),
        )
    ]


def our_escrow_differences(
    escrow: ChainEscrow, books_channels: Sequence[Mapping[str, Any]]
) -> list[Difference]:
    """Our channels' deposits in escrow per the chain's logs against the books' channels on
    the same token network. Channels the books lack count on the chain's side once the chain
    sync has read their opening."""
    books = sum(
        int(c["our_deposit"]) + int(c["partner_deposit"])
        for c in books_channels
        if str(c["state"]) in _HOLDING
    )
    known = _known(books_channels)
    actual = sum(seen.held for seen in escrow.ours if _due(escrow, seen, known))
    if books == actual:
        return []
    return [
        Difference(
            "chain",
            f"token network {escrow.token_network}",
            "our_escrow",
            books,
            actual,
            amount=actual - books,
            unit="token",
            detail=(
                "books: deposits of our channels open or closed in the books; actual: of our"
                f" channels open or closed in the contract's logs through block {escrow.block}"
            ),
        )
    ]


def unknown_channel_differences(
    escrow: ChainEscrow, books_channels: Sequence[Mapping[str, Any]]
) -> list[Difference]:
    """Channels with our address on chain that the books do not hold. A channel opened in a
    block the chain sync has not read yet is not one: the books cannot know it yet."""
    known = _known(books_channels)
    found = []
    for seen in escrow.ours:
        if seen.onchain_id in known or not _due(escrow, seen, known):
            continue
        found.append(
            Difference(
                "chain",
                f"on-chain channel {seen.onchain_id} with {seen.partner}",
                "channel",
                "absent",
                seen.state,
                amount=seen.our_deposit + seen.partner_deposit,
                unit="token",
                detail=(
                    f"opened in block {seen.opened_block} on token network"
                    f" {escrow.token_network} with partner {seen.partner}, unknown to the books;"
                    f" amount: its total deposit (ours {seen.our_deposit})"
                ),
            )
        )
    return found


def _known(books_channels: Sequence[Mapping[str, Any]]) -> set[int]:
    return {int(c["onchain_id"]) for c in books_channels if c["onchain_id"] is not None}


def _due(escrow: ChainEscrow, seen: SeenChannel, known: set[int]) -> bool:
    """Whether the books should know the channel: they do, or the sync read its opening."""
    return (
        seen.onchain_id in known or escrow.synced_to is None or seen.opened_block < escrow.synced_to
    )
