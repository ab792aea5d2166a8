"""Channels on chain, driven by recorded events: open, deposit and top up, crash-safely.

Every transaction is signed and recorded on the Channel (TransactionSigned) before it is
broadcast; after a restart the recorded bytes are broadcast again instead of a new
transaction being built, so a crash can never open or deposit twice. What a confirmed
transaction did (the channel opened, the new total deposit) is recorded from its receipt
under its (transaction hash, log index), the same key the chain watcher uses, so the two
never record a fact twice.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from web3 import Web3

from adapters.evm.balance_proof import BalanceProof, CooperativeSettlement
from adapters.evm.errors import ChallengePeriodNotOver, OnchainChannelState, Reverted
from adapters.evm.token import TokenClient
from adapters.evm.token_network import TokenNetworkClient
from adapters.evm.transactions import Confirmation, SignedTransaction
from adapters.evm.units import ledger_to_token
from application.app import SettlementApp
from application.channel_directory import ChannelDirectory
from application.failpoints import failpoint
from application.processes.ports import ChannelReadiness
from application.store import AlreadyExists
from domain.channel import Channel, ChannelState
from domain.peer_account import PeerAccount

log = logging.getLogger(__name__)


class PeerNotRegistered(Exception):
    retryable = False

    def __init__(self, peer_id: str) -> None:
        self.peer_id = peer_id
        super().__init__(f"peer {peer_id!r} has no registered chain address")


class ChannelAwaitingSettlement(Exception):
    """Our closed channel with the peer still holds the pair on chain until it is settled after
    its challenge period; a new channel can be opened then. Retried patiently."""

    retryable = True
    patient = True

    def __init__(self, onchain_id: int, settle_after: int) -> None:
        self.onchain_id = onchain_id
        self.settle_after = settle_after
        super().__init__(
            f"closed channel {onchain_id} can be settled on chain after {settle_after}"
        )


class UnknownRail(Exception):
    retryable = False

    def __init__(self, rail: str) -> None:
        self.rail = rail
        super().__init__(f"rail {rail!r} is not configured on this node")


@dataclass
class Rail:
    """One way to settle: a token network on a chain, and our key's clients for it."""

    name: str
    chain_id: int
    network: TokenNetworkClient
    token: TokenClient
    token_decimals: int
    settle_timeout: int
    lock: threading.RLock
    sequential: bool = False  # one transaction at a time (a chain with no mempool: eth-tester)

    @property
    def token_network(self) -> str:
        return str(self.network.address)


class ChannelService:
    def __init__(
        self,
        app: SettlementApp,
        directory: ChannelDirectory,
        rails: dict[str, Rail],
        deposit_multiple: int,
        clock: Callable[[], datetime],
    ) -> None:
        self.app = app
        self.directory = directory
        self.rails = rails
        self.deposit_multiple = deposit_multiple
        self.clock = clock
        self.sync_rail: Callable[[Rail], object] | None = None  # set by the wiring

    def rail(self, name: str) -> Rail:
        try:
            return self.rails[name]
        except KeyError:
            raise UnknownRail(name) from None

    def rail_of(self, channel: Channel) -> Rail:
        for rail in self.rails.values():
            same_network = rail.token_network.lower() == channel.token_network.lower()
            if rail.chain_id == channel.chain_id and same_network:
                return rail
        raise UnknownRail(f"{channel.chain_id}:{channel.token_network}")

    # ChannelPort

    def ensure_channel(
        self, account: PeerAccount, rail_name: str, amount: int, at: datetime
    ) -> ChannelReadiness:
        rail = self.rail(rail_name)
        channel_id = self.request_channel(account, rail)
        last_tx = self._open(channel_id, rail)
        channel = self.app.channel(channel_id)
        needed = channel.our_transferred + self._tokens(amount, account.asset_scale, rail)
        if needed > channel.our_deposit:
            headroom = self._tokens(
                self.deposit_multiple * account.threshold, account.asset_scale, rail
            )
            last_tx = self._deposit(channel_id, rail, needed + headroom)
        return ChannelReadiness(channel_id, last_tx)

    def initial_deposit(self, account: PeerAccount, rail: Rail) -> int:
        """Token units a new channel starts with: a multiple of the settlement threshold."""
        return self._tokens(self.deposit_multiple * account.threshold, account.asset_scale, rail)

    def top_up(self, channel_id: UUID, rail: Rail, total: int) -> str | None:
        """Raises our total deposit to at least `total` token units."""
        if self.app.channel(channel_id).our_deposit >= total:
            return None
        return self._deposit(channel_id, rail, total)

    def token_amount(self, channel: Channel, amount: int, asset_scale: int) -> int:
        return self._tokens(amount, asset_scale, self.rail_of(channel))

    def sign_proof(self, channel: Channel, nonce: int, transferred_amount: int) -> str:
        assert channel.onchain_id is not None
        proof = BalanceProof(channel.onchain_id, nonce, transferred_amount)
        return "0x" + self.rail_of(channel).network.sign_balance_proof(proof).hex()

    # Cooperative settlement: both sign the final balances; one transaction ends the channel.

    def cooperative_settlement(
        self, channel: Channel, our_transferred: int, partner_transferred: int
    ) -> CooperativeSettlement:
        """The final balances with these cumulative transfers, in the contract's participant
        order: each side gets its deposit, less what it sent, plus what it received."""
        assert channel.onchain_id is not None
        rail = self.rail_of(channel)
        onchain = rail.network.channel(channel.onchain_id)
        ours = channel.our_deposit - our_transferred + partner_transferred
        theirs = channel.partner_deposit - partner_transferred + our_transferred
        first_is_us = onchain.participant1.lower() == channel.our_address.lower()
        return CooperativeSettlement(
            channel_id=channel.onchain_id,
            participant1=onchain.participant1,
            participant1_balance=ours if first_is_us else theirs,
            participant2=onchain.participant2,
            participant2_balance=theirs if first_is_us else ours,
        )

    def sign_cooperative(self, channel: Channel, settlement: CooperativeSettlement) -> str:
        return "0x" + self.rail_of(channel).network.sign_cooperative_settlement(settlement).hex()

    def verify_cooperative(
        self, channel: Channel, settlement: CooperativeSettlement, signature: str
    ) -> None:
        """Raises InvalidProofSignature unless the partner signed these terms."""
        self.rail_of(channel).network.verify_cooperative_settlement(
            settlement, bytes.fromhex(signature.removeprefix("0x")), channel.partner_address
        )

    def settle_cooperatively(
        self, channel_id: UUID, settlement: CooperativeSettlement, ours: str, theirs: str
    ) -> str:
        """Submits cooperativeSettle (recorded before broadcast) and records the channel settled."""
        channel = self.app.channel(channel_id)
        rail = self.rail_of(channel)
        first_is_us = settlement.participant1.lower() == channel.our_address.lower()
        one, two = (ours, theirs) if first_is_us else (theirs, ours)
        confirmation = self._transact(
            channel_id,
            rail,
            "cooperative_settle",
            lambda: rail.network.prepare_cooperative_settle(
                settlement,
                bytes.fromhex(one.removeprefix("0x")),
                bytes.fromhex(two.removeprefix("0x")),
            ),
        )
        self._record_settled(channel_id, rail, confirmation)
        return confirmation.tx_hash

    def abandon(self, channel_id: UUID, reason: str) -> None:
        self.app.change_channel(channel_id, lambda c: c.abandon(reason))

    # Opening and depositing

    def request_channel(self, account: PeerAccount, rail: Rail) -> UUID:
        """Our usable channel with the peer on this rail, recording an open request if none."""
        if account.address is None:
            raise PeerNotRegistered(account.peer_id)
        found = self.directory.usable_channel(rail.chain_id, rail.token_network, account.address)
        if found is not None:
            return found
        generation = self.directory.generation(rail.chain_id, rail.token_network, account.address)
        key = f"{rail.chain_id}:{rail.token_network.lower()}:{account.address.lower()}:{generation}"
        channel = Channel.request_open(
            key,
            account.peer_id,
            account.asset_code,
            rail.chain_id,
            rail.token_network,
            str(rail.network.our_address),
            Web3.to_checksum_address(account.address),
            rail.settle_timeout,
            token_decimals=rail.token_decimals,
            asset_scale=account.asset_scale,
        )
        # Another worker, or this one before a crash, may have asked first: the same channel.
        with contextlib.suppress(AlreadyExists):
            self.app.create(channel)
        return channel.id

    def _open(self, channel_id: UUID, rail: Rail) -> str | None:
        channel = self.app.channel(channel_id)
        if channel.state != ChannelState.OPEN_REQUESTED:
            return None
        sent = any(tx["purpose"] == "open" for tx in channel.transactions.values())
        if not sent and self._adopt(channel_id, rail):
            return None
        if not sent:
            self._clear_pair(channel.partner_address, rail)
        try:
            confirmation = self._transact(
                channel_id,
                rail,
                "open",
                lambda: rail.network.prepare_open_channel(
                    channel.partner_address, channel.settle_timeout
                ),
            )
        except Reverted as error:
            # Both sides opened at once and the partner's came first: use theirs.
            if error.error_name == "ChannelAlreadyOpen" and self._adopt(channel_id, rail):
                return None
            raise
        onchain_id = rail.network.channel_id_from(confirmation)
        log_index = _log_index(confirmation, rail, "ChannelOpened")
        self.app.change_channel(
            channel_id, lambda c: c.observe_opened(onchain_id, confirmation.tx_hash, log_index)
        )
        return confirmation.tx_hash

    def _adopt(self, channel_id: UUID, rail: Rail) -> bool:
        """If the partner already opened the one channel the pair may have, the chain watcher
        records that open on this aggregate; returns whether the channel is now open."""
        partner = self.app.channel(channel_id).partner_address
        if rail.network.open_channel_with(partner) is None:
            return False
        if self.sync_rail is not None:
            self.sync_rail(rail)
        return self.app.channel(channel_id).state == ChannelState.OPENED

    def _clear_pair(self, partner: str, rail: Rail) -> None:
        """Settles our closed channel with `partner`, once its challenge period is over, so a
        new one can be opened; raises ChannelAwaitingSettlement until then."""
        onchain_id = rail.network.open_channel_with(partner)
        if onchain_id is None:
            return
        onchain = rail.network.channel(onchain_id)
        if onchain.state != OnchainChannelState.CLOSED:
            return
        old_id = self.directory.by_onchain_id(rail.chain_id, rail.token_network, onchain_id)
        if old_id is None:
            return
        try:
            confirmation = self._transact(
                old_id, rail, "settle", lambda: rail.network.prepare_settle(onchain_id)
            )
        except ChallengePeriodNotOver as error:
            raise ChannelAwaitingSettlement(onchain_id, error.settle_after) from error
        self._record_settled(old_id, rail, confirmation)

    def _record_settled(self, channel_id: UUID, rail: Rail, confirmation: Confirmation) -> None:
        event = rail.network.contract.events.ChannelSettled()
        for entry in confirmation.logs:
            try:
                args = event.process_log(entry)["args"]
            except Exception:  # a log of another event
                continue
            first = str(args["participant1"]).lower() == str(rail.network.our_address).lower()
            one, two = int(args["participant1Amount"]), int(args["participant2Amount"])
            ours, theirs = (one, two) if first else (two, one)
            index = int(entry["logIndex"])
            self.app.change_channel(
                channel_id,
                lambda c, o=ours, t=theirs, i=index: c.observe_settled(
                    o, t, confirmation.tx_hash, i
                ),
            )
            return

    def _deposit(self, channel_id: UUID, rail: Rail, total: int) -> str:
        channel = self.app.channel(channel_id)
        assert channel.onchain_id is not None
        onchain_id = channel.onchain_id
        increase = total - channel.our_deposit
        with rail.lock:  # approvals of one key must not interleave
            self._transact(
                channel_id,
                rail,
                f"approve:{total}",
                lambda: rail.token.prepare_approve(rail.token_network, increase),
            )
            confirmation = self._transact(
                channel_id,
                rail,
                f"deposit:{total}",
                lambda: rail.network.prepare_set_total_deposit(onchain_id, total),
            )
        log_index = _log_index(confirmation, rail, "ChannelNewDeposit")
        self.app.change_channel(
            channel_id,
            lambda c: c.observe_deposit(c.our_address, total, confirmation.tx_hash, log_index),
        )
        return confirmation.tx_hash

    def _transact(
        self,
        channel_id: UUID,
        rail: Rail,
        purpose: str,
        prepare: Callable[[], SignedTransaction],
    ) -> Confirmation:
        """Sends one transaction for `purpose` at most once: a recorded one is resumed."""
        with rail.lock if rail.sequential else contextlib.nullcontext():
            return self._transact_once(channel_id, rail, purpose, prepare)

    def _transact_once(
        self,
        channel_id: UUID,
        rail: Rail,
        purpose: str,
        prepare: Callable[[], SignedTransaction],
    ) -> Confirmation:
        channel = self.app.channel(channel_id)
        recorded = [
            (tx_hash, tx)
            for tx_hash, tx in channel.transactions.items()
            if tx["purpose"] == purpose and tx["succeeded"] is not False
        ]
        if recorded:
            tx_hash, tx = recorded[-1]
            signed = SignedTransaction.from_record(
                purpose, tx_hash, tx["raw_transaction"], tx["sender"], tx["nonce"]
            )
        else:
            signed = prepare()
            self.app.change_channel(
                channel_id,
                lambda c: c.record_transaction(
                    purpose,
                    signed.tx_hash,
                    "0x" + signed.raw_transaction.hex(),
                    str(signed.sender),
                    signed.nonce,
                ),
            )
            failpoint(f"after_signed_{purpose.split(':')[0]}")
        sender = rail.network.sender
        sender.broadcast(signed)
        failpoint(f"after_broadcast_{purpose.split(':')[0]}")
        confirmation = sender.wait_confirmed(
            signed.tx_hash, rail.network.confirmations, rail.network.receipt_timeout_seconds
        )
        self.app.change_channel(
            channel_id,
            lambda c: c.confirm_transaction(
                signed.tx_hash, confirmation.block_number, confirmation.succeeded
            ),
        )
        if not confirmation.succeeded:
            raise rail.network.explain_failure(signed.tx_hash, confirmation.block_number)
        return confirmation

    def resume_transactions(self) -> int:
        """At start-up: counts recorded nonces as used and confirms what was left in flight."""
        resumed = 0
        for channel_id in self.directory.all_channels():
            channel = self.app.channel(channel_id)
            for tx_hash, tx in channel.unconfirmed_transactions():
                rail = self.rail_of(channel)
                rail.network.sender.nonces.observe(
                    Web3.to_checksum_address(tx["sender"]), tx["nonce"]
                )
                signed = SignedTransaction.from_record(
                    tx["purpose"], tx_hash, tx["raw_transaction"], tx["sender"], tx["nonce"]
                )
                rail.network.sender.broadcast(signed)
                confirmation = rail.network.sender.wait_confirmed(
                    tx_hash, rail.network.confirmations, rail.network.receipt_timeout_seconds
                )
                self.app.change_channel(
                    channel_id,
                    lambda c, h=tx_hash, cf=confirmation: c.confirm_transaction(
                        h, cf.block_number, cf.succeeded
                    ),
                )
                resumed += 1
        return resumed

    def _tokens(self, amount: int, asset_scale: int, rail: Rail) -> int:
        return ledger_to_token(amount, asset_scale, rail.token_decimals)


def _log_index(confirmation: Confirmation, rail: Rail, event_name: str) -> int:
    """The index of the transaction's first `event_name` log from the token network."""
    event = getattr(rail.network.contract.events, event_name)()
    for log_entry in confirmation.logs:
        if Web3.to_checksum_address(log_entry["address"]) != rail.network.address:
            continue
        try:
            event.process_log(log_entry)
        except Exception:  # a log of another event
            continue
        return int(log_entry["logIndex"])
    raise LookupError(f"no {event_name} log in transaction {confirmation.tx_hash}")
