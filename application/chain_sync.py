"""The chain watcher's follower: TokenNetwork logs become Channel events, once each.

It reads from its saved cursor up to the safe head (head minus confirmations), records each
log as a Channel event keyed by (transaction hash, log index) — a log seen again changes
nothing — and saves the cursor after the batch. A crash between recording and saving the
cursor re-reads logs that are then no-ops; an RPC outage leaves the cursor where it was.
Channels a partner opened with us are created here, for the peer registered at that address.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from uuid import UUID

import psycopg
from web3 import Web3

from adapters.evm.watcher import ChainWatcher, ChannelLog
from application.app import SettlementApp
from application.channel_directory import ChannelDirectory
from application.channels import Rail
from application.store import AlreadyExists
from domain.channel import Channel, ChannelState
from domain.errors import IllegalTransition

log = logging.getLogger(__name__)


class ChainSync:
    def __init__(
        self,
        app: SettlementApp,
        database_url: str,
        directory: ChannelDirectory,
        rail: Rail,
        watcher: ChainWatcher,
        start_block: int = 0,
    ) -> None:
        self.app = app
        self.database_url = database_url
        self.directory = directory
        self.rail = rail
        self.watcher = watcher
        self.start_block = start_block
        self.our_address = str(rail.network.our_address)
        self._lock = threading.Lock()  # the watcher thread and on-demand syncs take turns

    def cursor(self) -> int:
        with psycopg.connect(self.database_url) as conn:
            row = conn.execute(
                "SELECT next_block FROM chain_cursors WHERE chain_id = %s AND token_network = %s",
                (self.rail.chain_id, self.rail.token_network.lower()),
            ).fetchone()
        return int(row[0]) if row else self.start_block

    def _save_cursor(self, next_block: int) -> None:
        with psycopg.connect(self.database_url) as conn:
            conn.execute(
                "INSERT INTO chain_cursors (chain_id, token_network, next_block)"
                " VALUES (%s, %s, %s)"
                " ON CONFLICT (chain_id, token_network) DO UPDATE"
                " SET next_block = excluded.next_block, updated_at = now()",
                (self.rail.chain_id, self.rail.token_network.lower(), next_block),
            )

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
        fields = channel_log.fields
        if channel_log.kind == "ChannelOpened":
            return self._opened(channel_log)
        channel_id = self.directory.by_onchain_id(
            self.rail.chain_id, self.rail.token_network, channel_log.onchain_channel_id
        )
        if channel_id is None:
            return False  # not one of ours
        tx, index = channel_log.tx_hash, channel_log.log_index
        if channel_log.kind == "ChannelNewDeposit":
            return self.app.change_channel(
                channel_id,
                lambda c: c.observe_deposit(
                    fields["participant"], int(fields["totalDeposit"]), tx, index
                ),
            )
        if channel_log.kind == "ChannelClosed":
            return self.app.change_channel(
                channel_id, lambda c: c.observe_closed(fields["closingParticipant"], tx, index)
            )
        if channel_log.kind == "ChannelSettled":
            return self.app.change_channel(
                channel_id, lambda c: self._settled(c, fields, tx, index)
            )
        return False

    def _settled(self, channel: Channel, fields: dict[str, object], tx: str, index: int) -> bool:
        first = str(fields["participant1"]).lower() == channel.our_address.lower()
        one, two = int(str(fields["participant1Amount"])), int(str(fields["participant2Amount"]))
        ours, theirs = (one, two) if first else (two, one)
        return channel.observe_settled(ours, theirs, tx, index)

    def _opened(self, channel_log: ChannelLog) -> bool:
        fields = channel_log.fields
        participants = [str(fields["participant1"]), str(fields["participant2"])]
        if self.our_address.lower() not in (p.lower() for p in participants):
            return False
        partner = next(p for p in participants if p.lower() != self.our_address.lower())
        chain_id, network = self.rail.chain_id, self.rail.token_network
        channel_id = self.directory.by_onchain_id(chain_id, network, channel_log.onchain_channel_id)
        if channel_id is None:
            opening = self.directory.opening_channel(chain_id, network, partner)
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
            return self.app.change_channel(
                channel_id, lambda c: c.observe_opened(onchain_id, tx, index)
            )
        except IllegalTransition:
            # Our open request failed meanwhile; the channel the partner opened stands alone.
            fallback = self._partner_opened(partner)
            if fallback is None:
                return False
            return self.app.change_channel(
                fallback, lambda c: c.observe_opened(onchain_id, tx, index)
            )

    def _partner_opened(self, partner: str) -> UUID | None:
        peer = self.directory.peer_by_address(partner)
        if peer is None:
            log.warning("channel opened by an unregistered address", extra={"partner": partner})
            return None
        peer_id, asset_code, asset_scale = peer
        chain_id, network = self.rail.chain_id, self.rail.token_network
        generation = self.directory.generation(chain_id, network, partner)
        key = f"{chain_id}:{network.lower()}:{partner.lower()}:{generation}"
        channel = Channel.request_open(
            key,
            peer_id,
            asset_code,
            chain_id,
            network,
            self.our_address,
            Web3.to_checksum_address(partner),
            self.rail.settle_timeout,
            token_decimals=self.rail.token_decimals,
            asset_scale=asset_scale,
        )
        with contextlib.suppress(AlreadyExists):
            self.app.create(channel)
        return channel.id
