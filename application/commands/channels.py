"""Use cases on channels: each loads the channel, runs one command, saves what it recorded."""

from __future__ import annotations

from uuid import UUID

from application.store import AggregateStore
from domain.channel import Channel


class ChannelCommands(AggregateStore):
    def channel(self, channel_id: UUID) -> Channel:
        return self.load(channel_id, Channel)
