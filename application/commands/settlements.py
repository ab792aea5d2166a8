"""Use cases on settlements: request once per key, then one named method per step, each saving
the settlement together with the account or channel it changes, atomically.

Every decision about an amount is made inside the save, on the state being saved (`_change*`
reloads and runs the command again after a conflicting writer), never on a view loaded earlier.

A settlement id is reserved on its account in the save that creates its `Settlement` (or, by
`reserve_settlement`, on a `Settlement` still requested), so an id is reserved once: the account
forgets finished settlements, but their `Settlement` stays (`refuse_reused_id`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from application.commands import settlement_rules as rules
from application.commands.settlement_rules import FailureOutcome
from application.processes.ports import FailureFacts
from application.processes.retry_policy import RetryPolicy
from application.store import AggregateStore, AlreadyExists
from domain.channel import Channel
from domain.errors import IllegalTransition, SettlementIdReused
from domain.peer_account import PeerAccount
from domain.settlement import Settlement, SettlementStatus

R = TypeVar("R")

__all__ = ["FailureOutcome", "SettlementCommands", "refuse_reused_id"]


class SettlementCommands(AggregateStore):
    def request_settlement(
        self, settlement_key: str, account_id: UUID, amount: int, at: datetime
    ) -> UUID:
        """Requests a settlement once per key: the same key again returns the same id. Its
        amount is reserved by its first step (`reserve_settlement`)."""
        account = self.load(account_id, PeerAccount)
        settlement = Settlement.request(
            settlement_key, account_id, account.peer_id, account.asset_code, amount, at
        )
        try:
            return self.create(settlement)
        except AlreadyExists:
            return settlement.id

    def settle_if_due(self, account_id: UUID, at: datetime) -> UUID | None:
        """Requests and reserves a settlement of payable down to settle-to when the account is
        due (payable at or above the threshold, nothing in flight, not paused), in one atomic
        save; None when it is not due. The key is the account's settlement sequence, so a repeat
        on the same state requests the same settlement and a repeat after it is a no-op."""
        return self._save_new(account_id, None, partial(_request_if_due, at))

    def settlement(self, settlement_id: UUID) -> Settlement:
        return self.load(settlement_id, Settlement)

    # The steps, in order.

    def reserve_settlement(self, settlement_id: UUID) -> None:
        """Reserves the settlement's amount on its account, once (a repeat changes nothing)."""
        self._with_account(settlement_id, rules.reserve)

    def choose_settlement_rail(
        self, settlement_id: UUID, rail: str, decision: dict[str, object], at: datetime
    ) -> None:
        self._change(settlement_id, Settlement, partial(rules.choose_rail, rail, decision, at))

    def record_channel_ready(
        self, settlement_id: UUID, channel_id: UUID, tx_hash: str | None, at: datetime
    ) -> None:
        self._with_account(settlement_id, partial(rules.channel_ready, channel_id, tx_hash, at))

    def record_ready_on_rail(
        self,
        settlement_id: UUID,
        account_id: UUID,
        routing: tuple[str, dict[str, object]] | None,
        channel_id: UUID,
        tx_hash: str | None,
        at: datetime,
    ) -> None:
        """The rail chosen in this step (if any) and the channel ready, in one save. The caller
        knows the settlement's account (it never changes): no load to find it."""
        record = partial(rules.ready_on_rail, routing, channel_id, tx_hash, at)
        self._change_together(account_id, PeerAccount, settlement_id, Settlement, record)

    def record_ready_and_signed(
        self,
        settlement_id: UUID,
        account_id: UUID,
        routing: tuple[str, dict[str, object]] | None,
        channel_id: UUID,
        signed: tuple[int, tuple[int, int], str],
        at: datetime,
    ) -> None:
        """The rail chosen in this step (if any), the channel ready and our proof on it signed
        (`signed`: token amount, (nonce, transferred), signature), on channel, settlement and
        account in one save; refused unless the proof is the channel's next."""
        amount, proof, signature = signed
        record = partial(rules.ready_and_signed, routing, amount, proof, signature, at)
        self._change_three(channel_id, settlement_id, account_id, record)

    def record_proof_signed(
        self,
        settlement_id: UUID,
        token_amount: int,
        proof: tuple[int, int],
        signature: str,
        at: datetime,
        seen: Settlement | None = None,
    ) -> None:
        """Records our signed proof on the channel, the settlement and (as promised) the account,
        in one save; refused unless the proof is the channel's next for `token_amount` more.
        `seen` is the caller's view of the settlement, if it has one: its account and channel
        (the save checks the channel is still the settlement's), without another load."""
        settlement = seen if seen is not None else self.settlement(settlement_id)
        if settlement.channel_id is None:
            raise IllegalTransition("Settlement", settlement_id, settlement.status, "sign")
        record = partial(rules.proof_signed, token_amount, proof, signature, at)
        self._change_three(settlement.channel_id, settlement_id, settlement.account_id, record)

    def record_delivery(
        self, settlement_id: UUID, receipt: str, at: datetime, onchain_tx_hash: str | None = None
    ) -> None:
        self._change(
            settlement_id, Settlement, partial(rules.delivered, receipt, at, onchain_tx_hash)
        )

    def apply_settlement_to_books(self, settlement_id: UUID, at: datetime) -> None:
        """The delivered amount leaves in-flight for good: account and settlement together."""
        self._with_account(settlement_id, partial(rules.applied, at))

    def record_delivered_and_applied(
        self, settlement_id: UUID, account_id: UUID, receipt: str, at: datetime
    ) -> None:
        """The claim acknowledged and its amount applied to the books, in one save."""
        record = partial(rules.delivered_and_applied, receipt, at)
        self._change_together(account_id, PeerAccount, settlement_id, Settlement, record)

    def complete_settlement(self, settlement_id: UUID, at: datetime) -> None:
        self._change(settlement_id, Settlement, partial(rules.complete, at))

    # When a step fails.

    def record_settlement_failure(
        self,
        settlement_id: UUID,
        seen: SettlementStatus,
        failure: FailureFacts,
        policy: RetryPolicy,
        rng: random.Random,
        at: datetime,
    ) -> FailureOutcome:
        """Decides, on the state being saved, what a failed step means: nothing if the settlement
        moved on from `seen` meanwhile (another driver), a retry after a backoff while the budget
        lasts, else the end — a dead letter that keeps a promised amount in flight, or failure
        with the reservation released where no proof is out."""
        decide = partial(rules.decide_failure, seen, failure, policy, rng, at)
        return self._with_account(settlement_id, decide)

    def time_out_settlement(self, settlement_id: UUID, at: datetime) -> FailureOutcome:
        """A stuck settlement ends: timed out and released, or dead-lettered if a proof is out."""
        return self._with_account(settlement_id, partial(rules.time_out, at))

    # The dead-letter list: an operator's decisions.

    def redeliver_dead_letter(self, settlement_id: UUID, at: datetime) -> None:
        """The promised claim was delivered again: its amount is applied to the books."""
        self._with_account(settlement_id, partial(rules.redelivered, at))

    def retry_dead_letter(self, settlement_id: UUID, at: datetime) -> UUID:
        """A new settlement, requested and reserved, for what is still payable of a dead letter
        with no proof out; the dead letter records it. One atomic save of all three."""
        account_id = self.settlement(settlement_id).account_id
        retry = partial(rules.retry, f"{settlement_id}:retry", at)
        new_id = self._save_new(account_id, settlement_id, retry)
        assert new_id is not None
        return new_id

    def discard_dead_letter(self, settlement_id: UUID, at: datetime) -> None:
        self._change(settlement_id, Settlement, partial(rules.discard, at))

    # Saving several aggregates atomically.

    def _save_new(
        self,
        account_id: UUID,
        other_id: UUID | None,
        build: Callable[..., Settlement | None],
    ) -> UUID | None:
        """Runs `build(account[, other])` on fresh state; saves the settlement it returns with
        the account (and the other settlement), atomically; retried after a conflict."""
        ids = [i for i in (account_id, other_id) if i is not None]

        def attempt() -> tuple[UUID | None, list[Aggregate]]:
            loaded: list[Aggregate] = [self.load(account_id, PeerAccount, copy=False)]
            if other_id is not None:
                loaded.append(self.load(other_id, Settlement, copy=False))
            new = build(*loaded)
            if new is None:
                return None, []
            refuse_reused_id(self, new, loaded)
            return new.id, [*loaded, new]

        return self._save_atomically(ids, attempt)

    def _with_account(
        self, settlement_id: UUID, command: Callable[[PeerAccount, Settlement], R]
    ) -> R:
        account_id = self.settlement(settlement_id).account_id  # never changes
        return self._change_together(account_id, PeerAccount, settlement_id, Settlement, command)

    def _change_three(
        self,
        channel_id: UUID,
        settlement_id: UUID,
        account_id: UUID,
        command: Callable[[Channel, Settlement, PeerAccount], R],
    ) -> R:
        def attempt() -> tuple[R, list[Aggregate]]:
            channel = self.load(channel_id, Channel, copy=False)
            settlement = self.load(settlement_id, Settlement, copy=False)
            account = self.load(account_id, PeerAccount, copy=False)
            return command(channel, settlement, account), [channel, settlement, account]

        return self._save_atomically([channel_id, settlement_id, account_id], attempt)


class DecidedOnChangedState(IntegrityError):
    """A new settlement's id was found taken, but what it was decided on changed since it was
    loaded: a conflicting writer, which `_save_atomically` meets by running again on fresh state."""

    def __init__(self, settlement_id: UUID) -> None:
        self.settlement_id = settlement_id
        super().__init__(f"settlement {settlement_id} exists; decided on a state changed since")


def refuse_reused_id(store: AggregateStore, new: Settlement, decided_on: list[Aggregate]) -> None:
    """SettlementIdReused if a settlement of `new`'s id exists (its reservation, open or
    finished, was made when it was created) and the aggregates `new` was decided on are still
    as loaded. If another writer changed one of them meanwhile, the decision was made on stale
    state: a conflicting writer, as the recorder reports one, so the attempt runs again on fresh
    state. Two writers that both pass the check conflict on the new settlement's first event."""
    if not store.exists(new.id):
        return
    if any(_changed_since_loaded(store, a) for a in decided_on):
        raise DecidedOnChangedState(new.id)
    raise SettlementIdReused(new.id)


def _changed_since_loaded(store: AggregateStore, aggregate: Aggregate) -> bool:
    """Another writer stored events after the version this (changed, unsaved) copy was loaded at."""
    loaded = aggregate.version - len(aggregate.pending_events)
    return bool(list(store.events.get(aggregate.id, gt=loaded, limit=1)))


def _request_if_due(at: datetime, account: PeerAccount) -> Settlement | None:
    if not account.settlement_due:
        return None
    key = f"{account.id}:settlement:{account.settlement_sequence}"
    amount = account.settlement_amount()
    new = Settlement.request(key, account.id, account.peer_id, account.asset_code, amount, at)
    account.reserve(new.id, amount)
    return new
