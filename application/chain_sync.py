"""The chain watcher's follower: TokenNetwork logs become Channel events, once each.

It reads from its saved cursor up to the safe head (head minus confirmations), records each
log as a Channel event keyed by (transaction hash, log index) — a log seen again changes
nothing — and saves the cursor after the batch. A crash between recording and saving the
cursor re-reads logs that are then no-ops; an RPC outage leaves the cursor where it was.
Channels a partner opened with us are created here, for the peer registered at that address.
The cursor is kept behind the `ChainCursors` port (adapters/postgres/chain_cursors.py).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Protocol
from uuid import UUID

from application.app import SettlementApp
from application.chain_ports import ChannelLog, LogSource
from application.channel_directory import ChannelDirectory
from application.channel_opening import channel_key
from application.rails.registry import ChainRail
from application.store import AlreadyExists
from domain.address import Address
from domain.channel import Channel, ChannelState
from domain.errors import IllegalTransition

log = logging.getLogger(__name__)


class ChainCursors(Protocol):
    """Where the watcher of one token network has read up to: the next block to read."""

    def next_block(self, chain_id: int, token_network: Address) -> int | None: ...

    def save(self, chain_id: int, token_network: Address, next_block: int) -> None: ...


class ChainSync:
    def __init__(
        self,
        app: SettlementApp,
        cursors: ChainCursors,
        directory: ChannelDirectory,
        rail: ChainRail,
        watcher: LogSource,
        start_block: int = 0,
    ) -> None:
        self.app = app
        self.cursors = cursors
        self.directory = directory
        self.rail = rail
        self.watcher = watcher
        self.start_block = start_block
        self.our_address = Address(str(rail.network.our_address))
        self._lock = threading.Lock()  # the watcher thread and on-demand syncs take turns

    def cursor(self) -> int:
        saved = self.cursors.next_block(self.rail.chain_id, Address(self.rail.token_network))
        return self.start_block if saved is None else saved

    def _save_cursor(self, next_block: int) -> None:
        self.cursors.save(self.rail.chain_id, Address(self.rail.token_network), next_block)

    def sync_once(self) -> int:
        """Records every new log up to the safe head; returns how many were new facts."""
        with self._lock:
            return self._sync()

    def _sync(self) -> int:
        recorded = 0
        for batch in self.watcher.batches(self.cursor()):
            for channel_log in batch.logs:
                recorded += int(self.record(channel_log))
            self._save_cursor(batch.next_cursor)
        return recorded

    def record(self, channel_log: ChannelLog) -> bool:
        if channel_log.kind == "ChannelOpened":
            return self._opened(channel_log)
        channel_id = self.directory.by_onchain_id(
            self.rail.chain_id, self.rail.token_network, channel_log.onchain_channel_id
        )
        if channel_id is None:
            return False  # not one of ours
        fields, tx, index = channel_log.fields, channel_log.tx_hash, channel_log.log_index
        if channel_log.kind == "ChannelNewDeposit":
            total = int(fields["totalDeposit"])
            return self.app.record_deposit(channel_id, fields["participant"], total, tx, index)
        if channel_log.kind == "ChannelClosed":
            closer = fields["closingParticipant"]
            return self.app.record_channel_closed(channel_id, closer, tx, index)
        if channel_log.kind == "NonClosingBalanceProofUpdated":
            return self.app.record_closer_proof_updated(
                channel_id,
                fields["closingParticipant"],
                int(fields["nonce"]),
                int(fields["transferredAmount"]),
                tx,
                index,
            )
        if channel_log.kind == "ChannelSettled":
            return self.app.record_channel_payout(
                channel_id,
                fields["participant1"],
                int(fields["participant1Amount"]),
                int(fields["participant2Amount"]),
                tx,
                index,
            )
        return False

    def _opened(self, channel_log: ChannelLog) -> bool:
        fields = channel_log.fields
        participants = [Address(fields["participant1"]), Address(fields["participant2"])]
        if self.our_address not in participants:
            return False
        partner = next(p for p in participants if p != self.our_address)
        chain_id, network = self.rail.chain_id, self.rail.token_network
        channel_id = self.directory.by_onchain_id(chain_id, network, channel_log.onchain_channel_id)
        if channel_id is None:
            opening = self.directory.opening_channel(chain_id, network, partner, self.our_address)
            if (
                opening is not None
                and self.app.channel(opening).state == ChannelState.OPEN_REQUESTED
            ):
                channel_id = opening  # ours, or the partner's open answering our request
            else:
                channel_id = self._partner_opened(partner)
            if channel_id is None:
                return False
        onchain_id, tx, index = (
            channel_log.onchain_channel_id,
            channel_log.tx_hash,
            channel_log.log_index,
        )
        try:
            return self.app.record_channel_opened(channel_id, onchain_id, tx, index)
        except IllegalTransition:
            # Our open request failed meanwhile; the channel the partner opened stands alone.
            fallback = self._partner_opened(partner)
            if fallback is None:
                return False
            return self.app.record_channel_opened(fallback, onchain_id, tx, index)

    def _partner_opened(self, partner: str) -> UUID | None:
        peer = self.directory.peer_by_address(partner)
        if peer is None:
            log.warning("channel opened by an unregistered address", extra={"partner": partner})
            return None
        peer_id, asset_code, asset_scale = peer
        chain_id, network = self.rail.chain_id, self.rail.token_network
        generation = self.directory.generation(chain_id, network, partner)
        channel = Channel.request_open(
            channel_key(self.rail, partner, generation),
            peer_id,
            asset_code,
            chain_id,
            network,
            str(self.rail.network.our_address),
            partner,
            self.rail.settle_timeout,
            token_decimals=self.rail.token_decimals,
            asset_scale=asset_scale,
        )
        with contextlib.suppress(AlreadyExists):
            self.app.create(channel)
        return channel.id


class ChainSyncs:
    """The followers of every rail's chain, by rail name: one sync, or all of them."""

    def __init__(self, syncs: list[ChainSync]) -> None:
        self.by_rail = {sync.rail.name: sync for sync in syncs}

    def __iter__(self) -> Iterator[ChainSync]:
        return iter(self.by_rail.values())

    def sync_rail(self, rail_name: str) -> int:
        return self.by_rail[rail_name].sync_once()

    def sync_all(self) -> int:
        return sum(sync.sync_once() for sync in self.by_rail.values())
