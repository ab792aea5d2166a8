"""Use cases on channels: each loads the channel, runs one command, saves what it recorded.

Facts seen on chain are recorded once per (transaction hash, log index), so the chain watcher
and the receipt of our own transaction may both report one and it counts once; the transactions
we send are recorded signed before they are broadcast.

Which logs were observed, and every transaction ever recorded, live in two indexes, not in the
channel (`application.channel_log_index` and `application.channel_transaction_index` say why):
the commands ask them inside the atomic save, and every save hands the index rows of what it
records to the event recorder, to be written in the events' transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import Recording

from application.chain_ports import SignedChainTransaction
from application.channel_log_index import InMemoryObservedLogIndex, ObservedLogIndex, rows_of
from application.channel_transaction_index import (
    InMemoryTransactionIndex,
    TransactionIndex,
    TransactionRow,
    changes_of,
)
from application.store import AggregateStore
from domain.channel import Channel

R = TypeVar("R")


class ChannelCommands(AggregateStore):
    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        # The PostgreSQL recorder has its tables (written in its insert transaction); the
        # in-memory store gets sets written under a lock in `_record`.
        logs: ObservedLogIndex | None = getattr(self.recorder, "channel_log_index", None)
        self.channel_logs: ObservedLogIndex = logs or InMemoryObservedLogIndex()
        txs: TransactionIndex | None = getattr(self.recorder, "channel_transaction_index", None)
        self.channel_transactions: TransactionIndex = txs or InMemoryTransactionIndex()

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        """Records the events with the index rows of the logs and transactions they record.
        Chains to the other mixins' `_record` (peer accounts add their batches the same way)."""
        logs = rows_of(processing_event.events)
        txs = changes_of(processing_event.events)
        if not logs and not txs:
            return super()._record(processing_event)
        log_index, tx_index = self.channel_logs, self.channel_transactions
        if isinstance(log_index, InMemoryObservedLogIndex) and isinstance(
            tx_index, InMemoryTransactionIndex
        ):
            with log_index.lock, tx_index.lock:
                log_index.check_new(logs)
                tx_index.check_new(txs)
                recordings = super()._record(processing_event)
                log_index.add(logs)
                tx_index.apply(txs)
            return recordings
        processing_event.saved_kwargs["channel_logs"] = logs
        processing_event.saved_kwargs["channel_transactions"] = txs
        return super()._record(processing_event)

    def channel(self, channel_id: UUID) -> Channel:
        return self.load(channel_id, Channel)

    def live_transaction(self, channel_id: UUID, purpose: str) -> tuple[str, dict[str, Any]] | None:
        """The latest transaction for `purpose` that has not failed or been dropped: a pending
        one, or else the one that succeeded (a retry must not send the purpose again)."""
        pending = self.channel(channel_id).pending_transaction(purpose)
        if pending is not None:
            return pending
        done = self.channel_transactions.succeeded_for(channel_id, purpose)
        return None if done is None else (done.tx_hash, done.as_recorded())

    def recorded_transactions(self, channel_id: UUID) -> list[TransactionRow]:
        """Every transaction recorded for the channel, final ones included, in signing order."""
        return self.channel_transactions.of_channel(channel_id)

    def _observe(
        self, channel_id: UUID, tx_hash: str, log_index: int, fact: Callable[[Channel], None]
    ) -> bool:
        """Records the fact of one log once: False, recording nothing, if the log is known.
        The lookup runs inside the attempt, so after a conflicting writer it finds its row."""

        def observe(channel: Channel) -> bool:
            if self.channel_logs.has_observed(channel.id, tx_hash, log_index):
                return False
            fact(channel)
            return True

        return self._change(channel_id, Channel, observe)

    # Facts observed on chain; each returns whether it was new.

    def record_channel_opened(
        self, channel_id: UUID, onchain_id: int, tx_hash: str, log_index: int
    ) -> bool:
        return self._observe(
            channel_id,
            tx_hash,
            log_index,
            lambda c: c.observe_opened(onchain_id, tx_hash, log_index),
        )

    def record_deposit(
        self, channel_id: UUID, participant: str, total_deposit: int, tx_hash: str, log_index: int
    ) -> bool:
        return self._observe(
            channel_id,
            tx_hash,
            log_index,
            lambda c: c.observe_deposit(participant, total_deposit, tx_hash, log_index),
        )

    def record_channel_closed(
        self, channel_id: UUID, closing_participant: str, tx_hash: str, log_index: int
    ) -> bool:
        return self._observe(
            channel_id,
            tx_hash,
            log_index,
            lambda c: c.observe_closed(closing_participant, tx_hash, log_index),
        )

    def record_closer_proof_updated(
        self,
        channel_id: UUID,
        closing_participant: str,
        nonce: int,
        transferred_amount: int,
        tx_hash: str,
        log_index: int,
    ) -> bool:
        return self._observe(
            channel_id,
            tx_hash,
            log_index,
            lambda c: c.observe_closer_proof_updated(
                closing_participant, nonce, transferred_amount, tx_hash, log_index
            ),
        )

    def record_channel_payout(
        self,
        channel_id: UUID,
        participant1: str,
        participant1_amount: int,
        participant2_amount: int,
        tx_hash: str,
        log_index: int,
    ) -> bool:
        return self._observe(
            channel_id,
            tx_hash,
            log_index,
            lambda c: c.observe_payout(
                participant1, participant1_amount, participant2_amount, tx_hash, log_index
            ),
        )

    # Our transactions: recorded before broadcast, then confirmed or dropped.

    def record_transaction_signed(
        self, channel_id: UUID, purpose: str, signed: SignedChainTransaction
    ) -> None:
        """Records a signed transaction for `purpose` (what it is for on this channel, such as
        `deposit:500`), before it is broadcast."""
        raw = "0x" + signed.raw_transaction.hex()

        def record(channel: Channel) -> None:
            if self.channel_transactions.find(channel.id, signed.tx_hash) is None:
                channel.record_transaction(
                    purpose, signed.tx_hash, raw, str(signed.sender), signed.nonce
                )

        self._change(channel_id, Channel, record)

    def record_transaction_confirmed(
        self, channel_id: UUID, tx_hash: str, block_number: int, succeeded: bool
    ) -> bool:
        """Confirms a pending transaction; False if it is final already."""
        return self._finish(
            channel_id, tx_hash, lambda c: c.confirm_transaction(tx_hash, block_number, succeeded)
        )

    def record_transaction_dropped(self, channel_id: UUID, tx_hash: str, reason: str) -> bool:
        """Drops a pending transaction whose nonce another took; False if it is final already."""
        return self._finish(channel_id, tx_hash, lambda c: c.drop_transaction(tx_hash, reason))

    def _finish(self, channel_id: UUID, tx_hash: str, end: Callable[[Channel], None]) -> bool:
        def finish(channel: Channel) -> bool:
            if not channel.is_pending(tx_hash) and self.channel_transactions.find(
                channel.id, tx_hash
            ):
                return False  # final already (a pending one is in the state)
            end(channel)  # an unknown hash raises, naming it
            return True

        return self._change(channel_id, Channel, finish)

    # Our decisions about a channel.

    def abandon_channel(self, channel_id: UUID, reason: str) -> None:
        self._change(channel_id, Channel, lambda c: c.abandon(reason))

    def fail_channel_open(self, channel_id: UUID, reason: str) -> None:
        self._change(channel_id, Channel, lambda c: c.fail_open(reason))
