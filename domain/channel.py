"""Channel: a payment channel with a peer on one chain and token network.

OpenRequested -> Opened -> Closed -> Settled, with Failed for an open that never happened
(cooperative settlement goes from Opened straight to Settled). Deposits are monotonic totals.
Facts observed on chain are recorded once per (transaction hash, log index).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.address import Address
from domain.errors import DepositDecreased, IllegalTransition, InvalidBalanceProof
from domain.ids import derive_id
from domain.money import check_amount


class ChannelState(StrEnum):
    OPEN_REQUESTED = "open_requested"
    OPENED = "opened"
    CLOSED = "closed"
    SETTLED = "settled"
    FAILED = "failed"


class ProofVerdict(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    STALE = "stale"  # recorded as a suspected double spend


def log_key(tx_hash: str, log_index: int) -> str:
    return f"{tx_hash.lower()}:{log_index}"


class Channel(Aggregate):
    @staticmethod
    def create_id(channel_key: str) -> UUID:
        return derive_id("channel", channel_key)

    class OpenRequested(Aggregate.Created):
        channel_key: str
        peer_id: str
        asset_code: str
        chain_id: int
        token_network: str
        our_address: str
        partner_address: str
        settle_timeout: int
        token_decimals: int
        asset_scale: int

    @event(OpenRequested)
    def __init__(
        self,
        channel_key: str,
        peer_id: str,
        asset_code: str,
        chain_id: int,
        token_network: str,
        our_address: str,
        partner_address: str,
        settle_timeout: int,
        token_decimals: int,
        asset_scale: int,
    ) -> None:
        self.channel_key = channel_key
        self.peer_id = peer_id
        self.asset_code = asset_code
        self.chain_id = chain_id
        self.token_network = token_network
        self.our_address = our_address
        self.partner_address = partner_address
        self.settle_timeout = settle_timeout
        self.token_decimals = token_decimals
        self.asset_scale = asset_scale
        self.state = ChannelState.OPEN_REQUESTED
        self.onchain_id: int | None = None
        self.our_deposit = 0
        self.partner_deposit = 0
        self.our_nonce = 0
        self.our_transferred = 0
        self.our_signature = ""
        self.partner_nonce = 0
        self.partner_transferred = 0
        self.partner_signature = ""
        self.observed_logs: dict[str, int] = {}  # a dict, not a set: snapshots are JSON
        # tx hash -> {purpose, raw_transaction, sender, nonce, confirmed, succeeded}
        self.transactions: dict[str, dict[str, Any]] = {}
        self.failure_reason: str | None = None
        self.abandoned_reason: str | None = None

    @classmethod
    def request_open(
        cls,
        channel_key: str,
        peer_id: str,
        asset_code: str,
        chain_id: int,
        token_network: str,
        our_address: str,
        partner_address: str,
        settle_timeout: int,
        token_decimals: int = 18,
        asset_scale: int = 18,
    ) -> Channel:
        """Amounts on the channel are in token units (`token_decimals` places); the ledger
        counts the asset at `asset_scale` places."""
        if Address(our_address, "our_address") == Address(partner_address, "partner_address"):
            raise InvalidBalanceProof("partner_address", partner_address, "must differ from ours")
        if settle_timeout <= 0:
            raise InvalidBalanceProof("settle_timeout", settle_timeout, "must be positive")
        return cls(
            channel_key=channel_key,
            peer_id=peer_id,
            asset_code=asset_code,
            chain_id=chain_id,
            token_network=token_network,
            our_address=our_address,
            partner_address=partner_address,
            settle_timeout=settle_timeout,
            token_decimals=token_decimals,
            asset_scale=asset_scale,
        )

    # Facts observed on chain: each log once.

    def has_observed(self, tx_hash: str, log_index: int) -> bool:
        return log_key(tx_hash, log_index) in self.observed_logs

    class Opened(Aggregate.Event):
        onchain_id: int
        tx_hash: str
        log_index: int

    def observe_opened(self, onchain_id: int, tx_hash: str, log_index: int) -> bool:
        if self.has_observed(tx_hash, log_index):
            return False
        self._require(ChannelState.OPEN_REQUESTED, "observe an open")
        self._opened(onchain_id=onchain_id, tx_hash=tx_hash, log_index=log_index)
        return True

    @event(Opened)
    def _opened(self, onchain_id: int, tx_hash: str, log_index: int) -> None:
        self.state = ChannelState.OPENED
        self.onchain_id = onchain_id
        self.observed_logs[log_key(tx_hash, log_index)] = 1

    class OpenFailed(Aggregate.Event):
        reason: str

    def fail_open(self, reason: str) -> None:
        self._require(ChannelState.OPEN_REQUESTED, "fail the open")
        self._open_failed(reason=reason)

    @event(OpenFailed)
    def _open_failed(self, reason: str) -> None:
        self.state = ChannelState.FAILED
        self.failure_reason = reason

    class DepositObserved(Aggregate.Event):
        participant: str
        total_deposit: int
        tx_hash: str
        log_index: int

    def observe_deposit(
        self, participant: str, total_deposit: int, tx_hash: str, log_index: int
    ) -> bool:
        if self.has_observed(tx_hash, log_index):
            return False
        self._require(ChannelState.OPENED, "observe a deposit")
        who = Address(participant, "participant")
        ours = who == Address(self.our_address)
        if not ours and who != Address(self.partner_address):
            raise InvalidBalanceProof("participant", participant, "is not in this channel")
        current = self.our_deposit if ours else self.partner_deposit
        if check_amount("total_deposit", total_deposit, allow_zero=True) < current:
            raise DepositDecreased(participant, total_deposit, current)
        self._deposit_observed(
            participant=participant,
            total_deposit=total_deposit,
            tx_hash=tx_hash,
            log_index=log_index,
        )
        return True

    @event(DepositObserved)
    def _deposit_observed(
        self, participant: str, total_deposit: int, tx_hash: str, log_index: int
    ) -> None:
        if Address(participant) == Address(self.our_address):
            self.our_deposit = total_deposit
        else:
            self.partner_deposit = total_deposit
        self.observed_logs[log_key(tx_hash, log_index)] = 1

    class Closed(Aggregate.Event):
        closing_participant: str
        tx_hash: str
        log_index: int

    def observe_closed(self, closing_participant: str, tx_hash: str, log_index: int) -> bool:
        if self.has_observed(tx_hash, log_index):
            return False
        self._require(ChannelState.OPENED, "observe a close")
        self._closed(closing_participant=closing_participant, tx_hash=tx_hash, log_index=log_index)
        return True

    @event(Closed)
    def _closed(self, closing_participant: str, tx_hash: str, log_index: int) -> None:
        self.state = ChannelState.CLOSED
        self.observed_logs[log_key(tx_hash, log_index)] = 1

    class Settled(Aggregate.Event):
        our_amount: int
        partner_amount: int
        tx_hash: str
        log_index: int

    def observe_settled(
        self, our_amount: int, partner_amount: int, tx_hash: str, log_index: int
    ) -> bool:
        if self.has_observed(tx_hash, log_index):
            return False
        if self.state not in (ChannelState.OPENED, ChannelState.CLOSED):
            raise IllegalTransition("Channel", self.id, self.state.value, "observe a settlement")
        self._settled(
            our_amount=our_amount,
            partner_amount=partner_amount,
            tx_hash=tx_hash,
            log_index=log_index,
        )
        return True

    @event(Settled)
    def _settled(self, our_amount: int, partner_amount: int, tx_hash: str, log_index: int) -> None:
        self.state = ChannelState.SETTLED
        self.observed_logs[log_key(tx_hash, log_index)] = 1

    def observe_payout(
        self,
        participant1: str,
        participant1_amount: int,
        participant2_amount: int,
        tx_hash: str,
        log_index: int,
    ) -> bool:
        """The chain's ChannelSettled, which lists the payouts in the contract's order."""
        first_is_us = Address(participant1, "participant1") == Address(self.our_address)
        ours, theirs = (participant1_amount, participant2_amount)
        if not first_is_us:
            ours, theirs = theirs, ours
        return self.observe_settled(ours, theirs, tx_hash, log_index)

    class CloserProofUpdated(Aggregate.Event):
        closing_participant: str
        nonce: int
        transferred_amount: int
        tx_hash: str
        log_index: int

    def observe_closer_proof_updated(
        self,
        closing_participant: str,
        nonce: int,
        transferred_amount: int,
        tx_hash: str,
        log_index: int,
    ) -> bool:
        """The non-closing side put the closer's newer proof on chain during the challenge."""
        if self.has_observed(tx_hash, log_index):
            return False
        if self.state not in (ChannelState.CLOSED, ChannelState.SETTLED):
            # Settled first is possible: our settle's receipt is recorded before the watcher
            # reaches the update's log.
            raise IllegalTransition("Channel", self.id, self.state.value, "observe an update")
        self._closer_proof_updated(
            closing_participant=closing_participant,
            nonce=nonce,
            transferred_amount=transferred_amount,
            tx_hash=tx_hash,
            log_index=log_index,
        )
        return True

    @event(CloserProofUpdated)
    def _closer_proof_updated(
        self,
        closing_participant: str,
        nonce: int,
        transferred_amount: int,
        tx_hash: str,
        log_index: int,
    ) -> None:
        self.observed_logs[log_key(tx_hash, log_index)] = 1

    class Abandoned(Aggregate.Event):
        reason: str

    def abandon(self, reason: str) -> None:
        """We stop using this channel for new payments (it closed or is disputed under us)."""
        if self.abandoned_reason is None:
            self._abandoned(reason=reason)

    @event(Abandoned)
    def _abandoned(self, reason: str) -> None:
        self.abandoned_reason = reason

    @property
    def usable(self) -> bool:
        return self.abandoned_reason is None and self.state in (
            ChannelState.OPEN_REQUESTED,
            ChannelState.OPENED,
        )

    # Our balance proofs

    def next_proof(self, amount: int) -> tuple[int, int]:
        """The nonce and cumulative transferred amount of a proof that pays `amount` more."""
        check_amount("amount", amount)
        return self.our_nonce + 1, self.our_transferred + amount

    def check_our_proof(self, nonce: int, transferred_amount: int) -> None:
        self._require(ChannelState.OPENED, "sign a balance proof")
        if nonce <= self.our_nonce:
            raise InvalidBalanceProof(
                "nonce", nonce, f"must exceed the last nonce {self.our_nonce}"
            )
        if transferred_amount < self.our_transferred:
            raise InvalidBalanceProof(
                "transferred_amount",
                transferred_amount,
                f"is below the cumulative {self.our_transferred} already signed",
            )
        if transferred_amount > self.our_deposit:
            raise InvalidBalanceProof(
                "transferred_amount",
                transferred_amount,
                f"exceeds our total deposit {self.our_deposit}",
            )

    class BalanceProofSigned(Aggregate.Event):
        nonce: int
        transferred_amount: int
        locked_amount: int
        locks_root: str
        signature: str

    def record_our_proof(
        self,
        nonce: int,
        transferred_amount: int,
        locked_amount: int,
        locks_root: str,
        signature: str,
    ) -> None:
        self.check_our_proof(nonce, transferred_amount)
        self._proof_signed(
            nonce=nonce,
            transferred_amount=transferred_amount,
            locked_amount=locked_amount,
            locks_root=locks_root,
            signature=signature,
        )

    @event(BalanceProofSigned)
    def _proof_signed(
        self,
        nonce: int,
        transferred_amount: int,
        locked_amount: int,
        locks_root: str,
        signature: str,
    ) -> None:
        self.our_nonce = nonce
        self.our_transferred = transferred_amount
        self.our_signature = signature

    # The partner's balance proofs

    class PartnerBalanceProofAccepted(Aggregate.Event):
        nonce: int
        transferred_amount: int
        signature: str

    class SuspectedDoubleSpend(Aggregate.Event):
        nonce: int
        transferred_amount: int
        signature: str
        latest_nonce: int
        latest_transferred_amount: int

    def receive_partner_proof(
        self, nonce: int, transferred_amount: int, signature: str
    ) -> ProofVerdict:
        """Accepts a newer proof; a stale or lower one is recorded as a suspected double spend."""
        self._require(ChannelState.OPENED, "accept a balance proof")
        if (nonce, transferred_amount, signature) == (
            self.partner_nonce,
            self.partner_transferred,
            self.partner_signature,
        ):
            return ProofVerdict.DUPLICATE
        if transferred_amount > self.partner_deposit:
            raise InvalidBalanceProof(
                "transferred_amount",
                transferred_amount,
                f"exceeds the partner's total deposit {self.partner_deposit}",
            )
        if nonce <= self.partner_nonce or transferred_amount < self.partner_transferred:
            self._suspect_double_spend(
                nonce=nonce,
                transferred_amount=transferred_amount,
                signature=signature,
                latest_nonce=self.partner_nonce,
                latest_transferred_amount=self.partner_transferred,
            )
            return ProofVerdict.STALE
        self._partner_proof_accepted(
            nonce=nonce, transferred_amount=transferred_amount, signature=signature
        )
        return ProofVerdict.ACCEPTED

    @event(PartnerBalanceProofAccepted)
    def _partner_proof_accepted(self, nonce: int, transferred_amount: int, signature: str) -> None:
        self.partner_nonce = nonce
        self.partner_transferred = transferred_amount
        self.partner_signature = signature

    @event(SuspectedDoubleSpend)
    def _suspect_double_spend(
        self,
        nonce: int,
        transferred_amount: int,
        signature: str,
        latest_nonce: int,
        latest_transferred_amount: int,
    ) -> None:
        pass  # the fact is the record; the latest accepted proof stands

    # Transactions we send: recorded signed, before broadcast, so a restart re-sends the same bytes.

    class TransactionSigned(Aggregate.Event):
        purpose: str
        tx_hash: str
        raw_transaction: str
        sender: str
        nonce: int

    def record_transaction(
        self, purpose: str, tx_hash: str, raw_transaction: str, sender: str, nonce: int
    ) -> None:
        if tx_hash in self.transactions:
            return
        if self.state in (ChannelState.SETTLED, ChannelState.FAILED):
            raise IllegalTransition("Channel", self.id, self.state.value, f"send {purpose}")
        self._transaction_signed(
            purpose=purpose,
            tx_hash=tx_hash,
            raw_transaction=raw_transaction,
            sender=sender,
            nonce=nonce,
        )

    @event(TransactionSigned)
    def _transaction_signed(
        self, purpose: str, tx_hash: str, raw_transaction: str, sender: str, nonce: int
    ) -> None:
        self.transactions[tx_hash] = {
            "purpose": purpose,
            "raw_transaction": raw_transaction,
            "sender": sender,
            "nonce": nonce,
            "confirmed": False,
            "succeeded": None,
        }

    class TransactionConfirmed(Aggregate.Event):
        tx_hash: str
        block_number: int
        succeeded: bool

    def confirm_transaction(self, tx_hash: str, block_number: int, succeeded: bool) -> bool:
        tx = self.transactions.get(tx_hash)
        if tx is None:
            raise InvalidBalanceProof("tx_hash", tx_hash, "was never recorded for this channel")
        if tx["confirmed"]:
            return False
        self._transaction_confirmed(tx_hash=tx_hash, block_number=block_number, succeeded=succeeded)
        return True

    @event(TransactionConfirmed)
    def _transaction_confirmed(self, tx_hash: str, block_number: int, succeeded: bool) -> None:
        self.transactions[tx_hash]["confirmed"] = True
        self.transactions[tx_hash]["succeeded"] = succeeded

    class TransactionDropped(Aggregate.Event):
        tx_hash: str
        reason: str

    def drop_transaction(self, tx_hash: str, reason: str) -> bool:
        """Another transaction took this one's nonce: it can never be mined, and is not sent
        again; what it was for is done by a new transaction."""
        tx = self.transactions.get(tx_hash)
        if tx is None:
            raise InvalidBalanceProof("tx_hash", tx_hash, "was never recorded for this channel")
        if tx["confirmed"] or tx.get("dropped"):
            return False
        self._transaction_dropped(tx_hash=tx_hash, reason=reason)
        return True

    @event(TransactionDropped)
    def _transaction_dropped(self, tx_hash: str, reason: str) -> None:
        self.transactions[tx_hash]["dropped"] = True
        self.transactions[tx_hash]["succeeded"] = False

    def unconfirmed_transactions(self) -> list[tuple[str, dict[str, Any]]]:
        """Recorded transactions still to be broadcast and confirmed (not dropped)."""
        return [
            (h, tx)
            for h, tx in self.transactions.items()
            if not tx["confirmed"] and not tx.get("dropped")
        ]

    def live_transaction(self, purpose: str) -> tuple[str, dict[str, Any]] | None:
        """The latest recorded transaction for `purpose` that has not failed or been dropped."""
        live = [
            (h, tx)
            for h, tx in self.transactions.items()
            if tx["purpose"] == purpose and tx["succeeded"] is not False
        ]
        return live[-1] if live else None

    def _require(self, state: ChannelState, command: str) -> None:
        if self.state != state:
            raise IllegalTransition("Channel", self.id, self.state.value, command)
