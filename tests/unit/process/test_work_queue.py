"""The executor's work queue: each id in hand once, and a trigger for an account being
considered is never swallowed (the account is considered once more)."""

from __future__ import annotations

from uuid import uuid4

from application.processes.work_queue import WorkQueue


def test_a_settlement_in_hand_is_not_queued_twice() -> None:
    work = WorkQueue(4)
    settlement = uuid4()
    assert work.submit(settlement) and not work.submit(settlement)
    assert work.take(0.01) == (settlement, False)
    assert not work.submit(settlement)  # with a worker
    work.release(settlement)
    assert work.submit(settlement)


def test_a_trigger_while_an_account_is_considered_asks_for_another_look() -> None:
    work = WorkQueue(4)
    account = uuid4()
    assert work.submit_account(account)
    assert work.take(0.01) == (account, True)
    assert work.submit_account(account)  # triggered again while in hand: not queued, marked
    assert work.again_or_release(account)  # so the worker considers it once more
    assert not work.again_or_release(account)  # then it leaves the hand
    assert work.submit_account(account) and work.take(0.01) == (account, True)


def test_a_full_queue_tells_the_caller_to_decide_itself() -> None:
    work = WorkQueue(1)
    assert work.submit(uuid4())
    assert not work.submit_account(uuid4()) and not work.submit(uuid4())


def test_a_trigger_while_a_settlement_is_driven_asks_for_another_drive() -> None:
    work = WorkQueue(4)
    settlement = uuid4()
    assert work.submit(settlement)
    assert not work.submit(settlement)  # only queued: one drive will see this trigger's state
    assert work.take(0.01) == (settlement, False)
    assert not work.again_or_release(settlement)  # no trigger while driven: it leaves the hand
    assert work.submit(settlement) and work.take(0.01) == (settlement, False)
    assert not work.submit(settlement)  # triggered while a worker drives it: marked
    assert work.again_or_release(settlement)  # so the worker drives it once more
    assert not work.again_or_release(settlement)
    assert work.claim(settlement)  # driven at once by the worker that requested it
    assert not work.submit(settlement)
    assert work.again_or_release(settlement)
