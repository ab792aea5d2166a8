"""Channel provisioner: a registered peer gets a channel, opened with an initial deposit.

Peers registered since the last run are provisioned in parallel. A failure is logged and
recorded (the open marked failed, unless a transaction for it is already out, which the
next attempt resumes) and never blocks the others or start-up: the first settlement for the
peer ensures the channel again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

from application.app import SettlementApp
from application.channels import ChannelService
from domain.channel import Channel, ChannelState
from domain.peer_account import PeerAccount
from projections.runner import PositionedEvent, Projection

log = logging.getLogger(__name__)


class ChannelProvisioner(Projection):
    name = "channel_provisioner"

    def __init__(
        self,
        app: SettlementApp,
        channels: ChannelService,
        clock: Callable[[], datetime],
        parallelism: int = 8,
    ) -> None:
        self.app = app
        self.channels = channels
        self.clock = clock
        self.parallelism = parallelism
        self.failures: dict[UUID, str] = {}

    def apply(self, cursor: psycopg.Cursor[Any], events: Sequence[PositionedEvent]) -> None:
        accounts = list(
            dict.fromkeys(
                p.event.originator_id
                for p in events
                if isinstance(p.event, PeerAccount.PeerRegistered)
            )
        )
        if not accounts:
            return
        with ThreadPoolExecutor(max_workers=min(self.parallelism, len(accounts))) as pool:
            list(pool.map(self.provision, accounts))

    def provision(self, account_id: UUID) -> UUID | None:
        account = self.app.load(account_id, PeerAccount)
        if account.preferred_rail is None or account.preferred_rail not in self.channels.rails:
            log.warning("no configured rail for peer", extra={"peer": account.peer_id})
            return None
        channel_id: UUID | None = None
        try:
            rail = self.channels.rail(account.preferred_rail)
            channel_id = self.channels.request_channel(account, rail)
            self.channels.ensure_channel(account, rail.name, 0, self.clock())
            initial = self.channels.initial_deposit(account, rail)
            self.channels.top_up(channel_id, rail, initial)
            return channel_id
        except Exception as error:
            self.failures[account_id] = f"{type(error).__name__}: {error}"
            log.warning(
                "channel provisioning failed; the first settlement will retry",
                extra={"peer": account.peer_id, "error": f"{type(error).__name__}: {error}"},
            )
            if channel_id is not None:
                self._record_failure(channel_id, f"{type(error).__name__}: {error}")
            return None

    def _record_failure(self, channel_id: UUID, reason: str) -> None:
        channel = self.app.load(channel_id, Channel)
        if channel.state == ChannelState.OPEN_REQUESTED and channel.transactions_signed == 0:
            self.app.fail_channel_open(channel_id, reason[:500])
