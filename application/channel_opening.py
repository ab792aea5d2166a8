"""Opening channels and depositing into them, driven by recorded events, crash-safely.

An open request is a Channel with a deterministic id (rail, partner, generation), so two workers
or a restart ask for the same one. Every transaction goes through `send_or_resume`. What a
confirmed transaction did (the channel opened, the new total deposit) is recorded from its
receipt under its (transaction hash, log index), the key the chain watcher uses, so the two
never record a fact twice.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from uuid import UUID

from application.app import SettlementApp
from application.chain_ports import ContractRefusal, OnchainChannelState
from application.chain_transactions import ChainTransactions
from application.channel_directory import ChannelDirectory
from application.cooperative_settlement import record_payout
from application.rails.registry import ChainRail
from application.store import AlreadyExists
from domain.address import Address
from domain.channel import Channel, ChannelState
from domain.peer_account import PeerAccount


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


def channel_key(rail: ChainRail, partner: str, generation: int) -> str:
    """The key of our `generation`-th channel with `partner` on `rail` (it derives the id)."""
    return f"{rail.chain_id}:{Address(rail.token_network)}:{Address(partner)}:{generation}"


class ChannelOpening:
    def __init__(
        self,
        app: SettlementApp,
        directory: ChannelDirectory,
        transactions: ChainTransactions,
        sync_rail: Callable[[str], object],
    ) -> None:
        self.app = app
        self.directory = directory
        self.transactions = transactions
        self.sync_rail = sync_rail  # records what the chain watcher has not seen yet
        # (chain, token network, partner, our address) -> our usable channel there. A channel's
        # identity never changes; whether it is still usable is checked on the aggregate.
        self._usable: dict[tuple[int, str, str, str], UUID] = {}

    def usable_channel(self, account: PeerAccount, rail: ChainRail) -> UUID | None:
        """Our channel with the peer on this rail, of the rail's key, being opened or open."""
        found = self.usable(account, rail)
        return found.id if found is not None else None

    def usable(self, account: PeerAccount, rail: ChainRail) -> Channel | None:
        """The usable channel itself (see `usable_channel`). Found once on the read model, then
        remembered: each later look is one load of the channel, which says whether it is still
        usable (not closed, failed or abandoned)."""
        if account.address is None:
            raise PeerNotRegistered(account.peer_id)
        our_address = str(rail.network.our_address)
        key = _usable_key(rail, account.address, our_address)
        known = self._usable.get(key)
        if known is not None:
            channel = self.app.channel(known)
            if _still_usable(channel):
                return channel
        found = self.directory.usable_channel(
            rail.chain_id, rail.token_network, account.address, our_address
        )
        if found is None:
            self._usable.pop(key, None)
            return None
        self._usable[key] = found
        return self.app.channel(found)

    def request_channel(self, account: PeerAccount, rail: ChainRail) -> UUID:
        """Our usable channel with the peer on this rail, recording an open request if none."""
        # Only a channel of the rail's key (the active one) carries new payments: a channel of
        # an older key is left to close and settle with that key.
        found = self.usable_channel(account, rail)
        if found is not None:
            return found
        assert account.address is not None  # usable_channel refuses an unregistered peer
        our_address = str(rail.network.our_address)
        generation = self.directory.generation(rail.chain_id, rail.token_network, account.address)
        channel = Channel.request_open(
            channel_key(rail, account.address, generation),
            account.peer_id,
            account.asset_code,
            rail.chain_id,
            rail.token_network,
            our_address,
            Address(account.address, "address"),
            rail.settle_timeout,
            token_decimals=rail.token_decimals,
            asset_scale=account.asset_scale,
        )
        # Another worker, or this one before a crash, may have asked first: the same channel.
        with contextlib.suppress(AlreadyExists):
            self.app.create(channel)
        self._usable[_usable_key(rail, account.address, our_address)] = channel.id
        return channel.id

    def open(self, channel_id: UUID, rail: ChainRail) -> str | None:
        """Opens a requested channel on chain; the open transaction's hash if this sent one."""
        channel = self.app.channel(channel_id)
        if channel.state != ChannelState.OPEN_REQUESTED:
            return None
        sent = self.app.live_transaction(channel_id, "open") is not None
        if not sent and self._adopt(channel_id, rail):
            return None
        if not sent:
            self._clear_pair(channel.partner_address, rail)
        try:
            receipt = self.transactions.send_or_resume(
                channel_id,
                rail,
                "open",
                lambda: rail.network.prepare_open_channel(
                    channel.partner_address, channel.settle_timeout
                ),
            )
        except ContractRefusal as error:
            # Both sides opened at once and the partner's came first: use theirs.
            if error.error_name == "ChannelAlreadyOpen" and self._adopt(channel_id, rail):
                return None
            raise
        opened = receipt.first("ChannelOpened")
        self.app.record_channel_opened(
            channel_id, opened.onchain_channel_id, opened.tx_hash, opened.log_index
        )
        return receipt.tx_hash

    def deposit(self, channel_id: UUID, rail: ChainRail, total: int) -> str:
        """Raises our total deposit to `total` token units: approve the increase, then deposit."""
        channel = self.app.channel(channel_id)
        assert channel.onchain_id is not None
        onchain_id = channel.onchain_id
        increase = total - channel.our_deposit
        with rail.lock:  # approvals of one key must not interleave
            self.transactions.send_or_resume(
                channel_id,
                rail,
                f"approve:{total}",
                lambda: rail.token.prepare_approve(rail.token_network, increase),
            )
            receipt = self.transactions.send_or_resume(
                channel_id,
                rail,
                f"deposit:{total}",
                lambda: rail.network.prepare_set_total_deposit(onchain_id, total),
            )
        deposited = receipt.first("ChannelNewDeposit")
        self.app.record_deposit(
            channel_id, channel.our_address, total, deposited.tx_hash, deposited.log_index
        )
        return receipt.tx_hash

    def _adopt(self, channel_id: UUID, rail: ChainRail) -> bool:
        """If the partner already opened the one channel the pair may have, the chain watcher
        records that open on this aggregate; returns whether the channel is now open."""
        partner = self.app.channel(channel_id).partner_address
        if rail.network.open_channel_with(partner) is None:
            return False
        self.sync_rail(rail.name)
        return self.app.channel(channel_id).state == ChannelState.OPENED

    def _clear_pair(self, partner: str, rail: ChainRail) -> None:
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
            receipt = self.transactions.send_or_resume(
                old_id, rail, "settle", lambda: rail.network.prepare_settle(onchain_id)
            )
        except ContractRefusal as error:
            if error.error_name == "ChallengePeriodNotOver":
                settle_after = int(error.arguments["settleAfter"])
                raise ChannelAwaitingSettlement(onchain_id, settle_after) from error
            raise
        record_payout(self.app, old_id, receipt)


def _usable_key(rail: ChainRail, partner: str, our_address: str) -> tuple[int, str, str, str]:
    return (
        rail.chain_id,
        str(Address(rail.token_network)),
        str(Address(partner)),
        str(Address(our_address)),
    )


def _still_usable(channel: Channel) -> bool:
    """As the read model's usable channel: being opened or open, and not abandoned."""
    usable = (ChannelState.OPEN_REQUESTED, ChannelState.OPENED)
    return channel.state in usable and channel.abandoned_reason is None
