"""Splitting a batch into requests without cutting a linked chain."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, TypeVar

from adapters.ledger.errors import BatchTooLarge


class _Linkable(Protocol):
    @property
    def flags(self) -> int: ...


T = TypeVar("T", bound=_Linkable)
_LINKED = 1  # the LINKED bit is bit 0 for accounts and transfers alike


def split_batches(events: Sequence[T], limit: int) -> Iterator[Sequence[T]]:
    """Yields consecutive slices of at most `limit` events, each ending where a chain ends.

    An open chain at the very end stays in the last slice, so the ledger reports it open.
    """
    start = 0
    while len(events) - start > limit:
        end = start + limit
        cut = end
        while cut > start and events[cut - 1].flags & _LINKED:
            cut -= 1
        if cut == start:
            length = end - start
            while start + length < len(events) and events[start + length - 1].flags & _LINKED:
                length += 1
            raise BatchTooLarge(start, length, limit)
        yield events[start:cut]
        start = cut
    if start < len(events):
        yield events[start:]
