"""TigerBeetle's batch loop (linked chains) and its create_account checks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from adapters.ledger.port import ID_MAX, Account, AccountBalance, AccountFlags, CreateResult

R = CreateResult


class _Event(Protocol):
    @property
    def flags(self) -> int: ...


E = TypeVar("E", bound=_Event)


def run_chains(
    events: Sequence[E],
    create: Callable[[int, E], CreateResult],
    mark: Callable[[], int],
    undo: Callable[[int], None],
    on_failure: Callable[[E, CreateResult], None],
) -> list[CreateResult]:
    """TigerBeetle's batch loop: linked chains succeed or fail together."""
    results: list[CreateResult] = []
    chain: int | None = None
    broken = False
    chain_mark = 0
    for index, event in enumerate(events):
        linked = bool(int(event.flags) & 1)  # LINKED is bit 0 for accounts and transfers
        if linked and chain is None:
            chain, chain_mark = index, mark()
        if linked and index == len(events) - 1:
            result = R.LINKED_EVENT_CHAIN_OPEN
        elif broken:
            result = R.LINKED_EVENT_FAILED
        else:
            result = create(index, event)
        if result is not R.CREATED:
            if chain is not None and not broken:
                broken = True
                undo(chain_mark)
                for earlier in range(chain, index):
                    results[earlier] = R.LINKED_EVENT_FAILED
            on_failure(event, result)
        results.append(result)
        if chain is not None and (not linked or result is R.LINKED_EVENT_CHAIN_OPEN):
            chain, broken = None, False
    return results


def account_result(a: Account, existing: AccountBalance | None) -> CreateResult:
    """TigerBeetle's create_account checks for one account against what is stored."""
    if a.id == 0:
        return R.ID_MUST_NOT_BE_ZERO
    if a.id == ID_MAX:
        return R.ID_MUST_NOT_BE_INT_MAX
    if existing is not None:
        if a.flags != existing.flags:
            return R.EXISTS_WITH_DIFFERENT_FLAGS
        for name in ("user_data_128", "user_data_64", "user_data_32", "ledger", "code"):
            if getattr(a, name) != getattr(existing, name):
                return R(f"exists_with_different_{name}")
        return R.EXISTS
    both = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS | AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
    if a.flags & both == both:
        return R.FLAGS_ARE_MUTUALLY_EXCLUSIVE
    if a.ledger == 0:
        return R.LEDGER_MUST_NOT_BE_ZERO
    if a.code == 0:
        return R.CODE_MUST_NOT_BE_ZERO
    return R.CREATED
