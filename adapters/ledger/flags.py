"""Refusing flags outside the port's contract, identically on both backends, before writing.

TigerBeetle knows more flags than the port models (`UNSUPPORTED_*_FLAGS` in the port) and
the PostgreSQL rules implement none of them; left to themselves the two backends would answer
differently. So each backend screens a batch first: an event with such a flag gets
`unsupported` (or `reserved_flag` for a bit TigerBeetle reserves too), its linked chain fails
with it as TigerBeetle fails a chain, and only the untouched chains are sent on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from adapters.ledger.chains import run_chains
from adapters.ledger.port import (
    SUPPORTED_ACCOUNT_FLAGS,
    SUPPORTED_TRANSFER_FLAGS,
    UNSUPPORTED_ACCOUNT_FLAGS,
    UNSUPPORTED_TRANSFER_FLAGS,
    CreateResult,
)


class _Flagged(Protocol):
    @property
    def flags(self) -> int: ...


E = TypeVar("E", bound=_Flagged)
Create = Callable[[Sequence[E]], list[CreateResult]]


class FlagContract:
    """The flags one kind of event may carry, and the code for each one it may not."""

    def __init__(self, supported: int, unsupported: int) -> None:
        self.supported = supported
        self.known = supported | unsupported

    def refusal(self, flags: int) -> CreateResult:
        """The code both backends answer for flags with a bit outside the contract."""
        if flags & ~self.known:
            return CreateResult.RESERVED_FLAG  # TigerBeetle's answer for its padding bits
        return CreateResult.UNSUPPORTED

    def create(self, events: Sequence[E], create: Create[E]) -> list[CreateResult]:
        """`create(events)`, except that chains holding a refused flag fail here, unsent."""
        outside = ~self.supported
        refused = {
            index: self.refusal(int(event.flags))
            for index, event in enumerate(events)
            if int(event.flags) & outside
        }
        if not refused:
            return create(events)
        results = run_chains(
            events,
            lambda index, _event: refused.get(index, CreateResult.CREATED),
            lambda: 0,
            lambda _mark: None,
            lambda _event, _result: None,
        )
        # Whole chains are either refused or kept, so the kept events keep their chains.
        kept = [index for index, result in enumerate(results) if result is CreateResult.CREATED]
        answers = create([events[index] for index in kept]) if kept else []
        for index, answer in zip(kept, answers, strict=True):
            results[index] = answer
        return results


ACCOUNT_FLAGS = FlagContract(SUPPORTED_ACCOUNT_FLAGS, sum(UNSUPPORTED_ACCOUNT_FLAGS.values()))
TRANSFER_FLAGS = FlagContract(SUPPORTED_TRANSFER_FLAGS, sum(UNSUPPORTED_TRANSFER_FLAGS.values()))
