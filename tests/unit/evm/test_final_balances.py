"""Final balances: each side gets its deposit, less what it sent, plus what it received, in the
contract's participant order; terms that would pay out more than the deposits are refused."""

from __future__ import annotations

import pytest

from domain.errors import InvalidField
from domain.final_balances import final_balances

US = "0x00000000000000000000000000000000000000AA"
THEM = "0x00000000000000000000000000000000000000bb"


def test_the_balances_follow_the_transfers_in_the_contracts_order() -> None:
    first = final_balances(7, US, THEM, US.lower(), (1000, 500), (300, 120))
    assert (first.participant1_balance, first.participant2_balance) == (820, 680)
    swapped = final_balances(7, THEM, US, US, (1000, 500), (300, 120))
    assert (swapped.participant1, swapped.participant1_balance) == (THEM, 680)
    assert (swapped.participant2, swapped.participant2_balance) == (US, 820)
    assert first.participant1_balance + first.participant2_balance == 1500


def test_terms_for_someone_else_or_beyond_the_deposits_are_refused() -> None:
    with pytest.raises(InvalidField) as outsider:
        final_balances(7, THEM, "0x" + "cc" * 20, US, (10, 10), (0, 0))
    assert outsider.value.field == "our_address"
    with pytest.raises(InvalidField) as overdrawn:
        final_balances(7, US, THEM, US, (10, 10), (11, 0))
    assert overdrawn.value.field == "transferred"
