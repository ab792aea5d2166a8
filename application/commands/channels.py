"""Use cases on channels: each loads the channel, runs one command, saves what it recorded."""

from __future__ import annotations

from uuid import UUID

from application.store import AggregateStore
from domain.channel import Channel


class ChannelCommands(AggregateStore):
    def channel(self, channel_id: UUID) -> Channel:
        return self.load(channel_id, Channel)

    def fail_channel_open(self, channel_id: UUID, reason: str) -> None:
        """The open was never sent (no transaction out): the channel is marked failed."""
        self._change(channel_id, Channel, lambda c: c.fail_open(reason))
