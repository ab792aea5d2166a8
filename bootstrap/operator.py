"""What a one-shot operator command needs beyond the node: the settlement process for one rail
(to close or settle a channel through the same use cases `settle run` drives), and a probe of
each configured rail's RPC. Built here because bootstrap/ is the only place adapters are made.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from adapters.evm.chains import ChainMismatch, connect_rpc
from adapters.evm.errors import EvmError
from adapters.signing.node_keys import load_node_keys
from application.rails.config import RailConfig
from bootstrap.node import Node
from bootstrap.settlement import SettlementProcess, build_settlement_process, rpc_web3
from domain.address import Address
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
    """The settlement process on one rail, signing with the key of the channel's `our_address`
    (the key ring's, audited, as `settle run` loads them). Only that rail's RPC is contacted."""
    node.catch_up_read_models()
    keys = load_node_keys(node.app, channels_needing_keys(node.pool), node.settings.chain)
    signer = keys.for_channel(our_address)
    timeout = node.settings.chain.rpc_timeout_seconds
    process = build_settlement_process(
        node,
        signer,
        [rail],
        lambda config: rpc_web3(config, timeout),
        clock,
        random.Random(),  # nosec B311 - retry jitter, not security
    )
    try:
        yield process
    finally:
        process.close()


@dataclass(frozen=True)
class RpcProbe:
    """Whether a rail's chain answered: `up`, and otherwise the problem, in one line."""

    up: bool
    problem: str = ""


def probe_rpc(rail: RailConfig, timeout_seconds: float) -> RpcProbe:
    """Asks each of the rail's endpoints for its chain id (checked against the configured one)."""
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
