"""What a one-shot operator command needs beyond the node: the settlement process for one rail
(to close or settle a channel through the same use cases `settle run` drives), the leader lock
while it sends (one key, one nonce sequence: a running leader and the CLI must not both send),
and a probe of each configured rail's RPC. Closing and settling a channel are here once, for the
CLI and for the node's API. Built here because bootstrap/ is the only place adapters are made.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from psycopg.rows import tuple_row

from adapters.postgres.leadership import LeaderLock
from application.app import SettlementApp
from application.chain_ports import OnchainChannelState
from application.rails.config import RailConfig
from application.rails.errors import UnknownRail
from application.rails.registry import ChainRail, ChannelKeyNotLoaded
from application.store import NotFound
from bootstrap.node import Node
from bootstrap.settlement import SettlementProcess, build_settlement_process
from domain.address import Address
from domain.channel import Channel, ChannelState
from entrypoints.http.api.node_operations import (
    ChannelNotReady,
    ChannelOutcome,
    NotLeader,
    OperationUnavailable,
    UnknownChannel,
)
from projections.key_needs import channels_needing_keys


def rail_serving(node: Node, chain_id: int, token_network: str) -> RailConfig | None:
    """The configured rail of this chain and token network, if any."""
    wanted = Address(token_network, "token_network")
    for config in node.settings.rails.rails:
        network = config.token_network
        if config.chain_id == chain_id and network and Address(network, "token_network") == wanted:
            return config
    return None


@contextmanager
def settlement_process_for(
    node: Node, rail: RailConfig, our_address: str, clock: Callable[[], datetime]
) -> Iterator[SettlementProcess]:
    """The settlement process on one rail with the node's keys (the key ring's, audited, as
    `settle run` loads them); the channel's rail signs with the key of its `our_address`,
    refused up front (SignerUnavailable) if that key is not loaded. Only that rail's RPC is
    contacted."""
    # Imported here: the key adapters and web3 take about 1.5 s, needed only with a rail.
    from adapters.signing.node_keys import load_node_keys
    from bootstrap.rails import rpc_web3

    node.catch_up_read_models()
    keys = load_node_keys(node.app, channels_needing_keys(node.pool), node.settings.chain)
    keys.for_channel(our_address)
    timeout = node.settings.chain.rpc_timeout_seconds
    process = build_settlement_process(
        node,
        keys,
        [rail],
        lambda config: rpc_web3(config, timeout),
        clock,
        random.Random(),  # nosec B311 - retry jitter, not security
    )
    try:
        yield process
    finally:
        process.close()


def leader_of(pool: Any) -> str | None:
    """The instance that took the leader lock last (`node_leadership.holder`)."""
    with pool.connection() as connection, connection.cursor(row_factory=tuple_row) as cursor:
        row = cursor.execute("SELECT holder FROM node_leadership WHERE id = 1").fetchone()
    return str(row[0]) if row and row[0] is not None else None


@contextmanager
def leading_for(node: Node, who: str) -> Iterator[LeaderLock]:
    """The leader lock, held as `who` until the block ends; NotLeader naming the holder when
    another instance leads (a running `settle run` leader sends with the same key)."""
    lock = LeaderLock(node.database_url, who)
    if lock.try_acquire() is None:
        raise NotLeader(leader_of(node.pool))
    try:
        yield lock
    finally:
        lock.release()


def close_channel(process: SettlementProcess, channel_id: UUID, reason: str) -> ChannelOutcome:
    """Abandons the channel (recorded first) and closes it on chain: `ChannelDisputes.close`."""
    app = process.node.app
    channel = _channel(app, channel_id)
    if channel.state != ChannelState.OPENED or channel.onchain_id is None:
        raise ChannelNotReady(channel_id, channel.state, "only an opened channel closes")
    rail = _rail_of(process, channel)
    tx_hash = process.disputes.close(channel_id, reason)
    after = app.channel(channel_id)
    return ChannelOutcome(channel_id, after.state, rail.name, after.token_decimals, tx_hash)


def settle_channel(process: SettlementProcess, channel_id: UUID) -> ChannelOutcome:
    """Pays out a closed channel after its challenge period (`ChannelDisputes.answer`, as the
    node's dispute pass does); a settled channel is reported as it is."""
    app = process.node.app
    channel = _channel(app, channel_id)
    if channel.state == ChannelState.SETTLED:
        return payout_of(app, channel_id, None, settled_now=False)
    if channel.state != ChannelState.CLOSED or channel.onchain_id is None:
        raise ChannelNotReady(channel_id, channel.state, "close it first")
    rail = _rail_of(process, channel)
    onchain = rail.network.channel(channel.onchain_id)
    now = rail.network.chain_time()
    if onchain.state == OnchainChannelState.CLOSED and now <= onchain.settle_after:
        raise ChannelNotReady(channel_id, channel.state, _too_early(onchain.settle_after, now))
    process.disputes.answer(channel_id)
    if app.channel(channel_id).state != ChannelState.SETTLED:
        process.sync_chain()  # the partner settled it first: record what the chain paid
    return payout_of(app, channel_id, rail.name, settled_now=True)


def _channel(app: SettlementApp, channel_id: UUID) -> Channel:
    try:
        return app.channel(channel_id)
    except NotFound:
        raise UnknownChannel(channel_id) from None


def _rail_of(process: SettlementProcess, channel: Channel) -> ChainRail:
    try:
        return process.rails.of_channel(channel)
    except ChannelKeyNotLoaded as error:
        raise OperationUnavailable(str(error)) from None
    except UnknownRail:
        raise OperationUnavailable(
            f"no configured rail serves channel {channel.id} (rail chain {channel.chain_id},"
            f" token network {channel.token_network}): see SETTLE_RAILS"
        ) from None


def _too_early(settle_after: int, now: int) -> str:
    def at(seconds: int) -> str:
        return datetime.fromtimestamp(seconds, UTC).isoformat()

    return (
        f"the challenge period runs until {at(settle_after)} chain time"
        f" ({settle_after - now + 1}s from the chain's now, {at(now)}); settle after it"
    )


def payout_of(
    app: SettlementApp, channel_id: UUID, rail: str | None, *, settled_now: bool = False
) -> ChannelOutcome:
    """The channel and what the chain paid out of it, if it settled."""
    channel = app.channel(channel_id)
    paid = [e for e in app.history(channel_id) if isinstance(e, Channel.Settled)]
    return ChannelOutcome(
        channel_id,
        channel.state,
        rail,
        channel.token_decimals,
        settled_now=settled_now and channel.state == ChannelState.SETTLED,
        our_amount=paid[-1].our_amount if paid else None,
        partner_amount=paid[-1].partner_amount if paid else None,
    )


@dataclass(frozen=True)
class RpcProbe:
    """Whether a rail's chain answered: `up`, and otherwise the problem, in one line."""

    up: bool
    problem: str = ""


def probe_rpc(rail: RailConfig, timeout_seconds: float) -> RpcProbe:
    """Asks each of the rail's endpoints for its chain id (checked against the configured one)."""
    from adapters.evm.chains import ChainMismatch, connect_rpc
    from adapters.evm.errors import EvmError

    if not rail.rpc_endpoints:
        return RpcProbe(False, "no rpc_url configured")
    problems = []
    for endpoint in rail.rpc_endpoints:
        try:
            connect_rpc(endpoint, timeout_seconds, rail.chain_id)
            return RpcProbe(True)
        except ChainMismatch as error:
            problems.append(f"{endpoint}: chain id {error.actual}, not {error.expected}")
        except (EvmError, OSError, ValueError) as error:
            problems.append(f"{endpoint}: {type(error).__name__}")
    return RpcProbe(False, "; ".join(problems))
