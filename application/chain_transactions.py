"""Exactly-once chain transactions for channels: `send_or_resume`, the one way any is sent.

A transaction is signed and recorded on the Channel (TransactionSigned) before it is broadcast.
If one is already recorded for the purpose, its recorded bytes are broadcast again instead of a
new transaction being built: the same hash is mined at most once, so a crash between any two
steps repeats only the broadcast. Start-up resumes every unconfirmed recorded transaction
through the same path. A recorded transaction whose nonce another transaction took can never
be mined: it is recorded as dropped, never sent again, and the purpose is sent anew.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from uuid import UUID

from application.app import SettlementApp
from application.chain_ports import ContractRefusal, Receipt, SignedChainTransaction
from application.channel_directory import ChannelDirectory
from application.failpoints import failpoint
from application.rails.registry import ChainRail, RailRegistry

log = logging.getLogger(__name__)

Prepare = Callable[[], SignedChainTransaction]


class NothingToResume(Exception):
    """A resume found no recorded transaction for the purpose (it was dropped meanwhile)."""

    def __init__(self, purpose: str) -> None:
        self.purpose = purpose
        super().__init__(f"no recorded transaction for purpose={purpose!r} to resume")


class ChainTransactions:
    def __init__(self, app: SettlementApp, directory: ChannelDirectory, rails: RailRegistry):
        self.app = app
        self.directory = directory
        self.rails = rails

    def send_or_resume(
        self, channel_id: UUID, rail: ChainRail, purpose: str, prepare: Prepare
    ) -> Receipt:
        """Sends one transaction for `purpose` at most once (a recorded one is broadcast again)
        and returns its receipt; a reverted one raises the contract's reason."""
        with rail.lock if rail.sequential else contextlib.nullcontext():
            for _ in range(2):  # a dropped transaction is replaced once, then it is an error
                signed = self._recorded(channel_id, rail, purpose)
                if signed is None:
                    signed = self._sign_and_record(channel_id, purpose, prepare)
                receipt = self._broadcast_and_confirm(channel_id, rail, purpose, signed)
                if receipt is not None:
                    break
            else:
                raise NothingToResume(purpose)
        if not receipt.succeeded:
            raise rail.transactions.explain_failure(receipt.tx_hash, receipt.block_number)
        return receipt

    def resume_all(self) -> int:
        """At start-up: counts every recorded nonce as used, then sends each unconfirmed recorded
        transaction again and records how it ended. Never fails on a reverted or dropped one."""
        pending = []
        for channel_id in self.directory.all_channels():
            channel = self.app.channel(channel_id)
            for tx_hash, tx in channel.unconfirmed_transactions():
                rail = self.rails.of_channel(channel)
                rail.transactions.count_nonce_used(tx["sender"], tx["nonce"])
                pending.append((channel_id, rail, tx_hash, tx["purpose"]))
        resumed = 0
        for channel_id, rail, tx_hash, purpose in pending:
            try:
                self.send_or_resume(channel_id, rail, purpose, _nothing_new(purpose))
            except (ContractRefusal, NothingToResume) as error:
                log.warning(
                    "resumed transaction did not go through",
                    extra={"tx_hash": tx_hash, "purpose": purpose, "error": str(error)},
                )
            resumed += 1
        return resumed

    def _recorded(
        self, channel_id: UUID, rail: ChainRail, purpose: str
    ) -> SignedChainTransaction | None:
        live = self.app.live_transaction(channel_id, purpose)
        if live is None:
            return None
        tx_hash, tx = live
        return rail.transactions.restore(
            purpose, tx_hash, tx["raw_transaction"], tx["sender"], tx["nonce"]
        )

    def _sign_and_record(
        self, channel_id: UUID, purpose: str, prepare: Prepare
    ) -> SignedChainTransaction:
        signed = prepare()
        self.app.record_transaction_signed(channel_id, purpose, signed)
        failpoint(f"after_signed_{purpose.split(':')[0]}")
        return signed

    def _broadcast_and_confirm(
        self, channel_id: UUID, rail: ChainRail, purpose: str, signed: SignedChainTransaction
    ) -> Receipt | None:
        """The receipt, recorded on the channel; None if the transaction lost its nonce."""
        try:
            rail.transactions.broadcast(signed)
        except Exception as error:
            if not getattr(error, "nonce_lost", False):
                raise
            self.app.record_transaction_dropped(channel_id, signed.tx_hash, str(error)[:500])
            log.warning(
                "recorded transaction lost its nonce; dropped",
                extra={"tx_hash": signed.tx_hash, "purpose": purpose},
            )
            return None
        failpoint(f"after_broadcast_{purpose.split(':')[0]}")
        receipt = rail.transactions.wait_confirmed(signed.tx_hash)
        self.app.record_transaction_confirmed(
            channel_id, signed.tx_hash, receipt.block_number, receipt.succeeded
        )
        return receipt


def _nothing_new(purpose: str) -> Prepare:
    """Resuming sends only what is recorded: if nothing is, there is nothing to do."""

    def refuse() -> SignedChainTransaction:
        raise NothingToResume(purpose)

    return refuse
