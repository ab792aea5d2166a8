"""Builds the EVM rail's adapters from ChainSettings: the signer, the chain connection, the
transaction sender, the TokenNetwork client and the chain watcher. Wiring calls `open_rail`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

from adapters.evm.chains import connect, deploy_development, fund_from_development_account
from adapters.evm.settings import ChainSettings
from adapters.evm.token import TokenClient
from adapters.evm.token_network import TokenNetworkClient
from adapters.evm.transactions import NonceManager, TransactionSender
from adapters.evm.watcher import ChainWatcher
from adapters.signing import KeystoreSigner, LocalKeySigner, Signer, SignerUnavailable

DEVELOPMENT_FUNDING_WEI = 10**21


class RailNotConfigured(Exception):
    """A setting the rail needs is missing; the message names its variable."""

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        self.problem = problem
        super().__init__(f"configuration error: {setting}: {problem}")


@dataclass
class EvmRail:
    web3: Web3
    sender: TransactionSender
    token_network: TokenNetworkClient
    token: TokenClient
    watcher: ChainWatcher


def load_signer(settings: ChainSettings, environ: Mapping[str, str] | None = None) -> Signer:
    """The configured key: from an environment variable or an encrypted keystore file."""
    env = os.environ if environ is None else environ
    if settings.key_source == "env":
        return LocalKeySigner.from_env(settings.private_key_env, env)
    if settings.keystore_path is None:
        raise SignerUnavailable("SETTLE_CHAIN__KEYSTORE_PATH", "is not set")
    password = env.get(settings.keystore_password_env)
    if password is None:
        raise SignerUnavailable(settings.keystore_password_env, "is not set")
    return KeystoreSigner(settings.keystore_path, password)


def open_rail(
    settings: ChainSettings,
    signer: Signer,
    web3: Web3 | None = None,
    nonces: NonceManager | None = None,
    out_dir: Path | None = None,
) -> EvmRail:
    """Connects (or reuses `web3`); on eth-tester funds the signer and, with no
    token_network_address configured, deploys the development contracts."""
    web3 = web3 or connect(settings)
    endpoint = settings.rpc_url or settings.backend
    sender = TransactionSender(
        web3,
        signer,
        nonces or NonceManager(),
        endpoint=endpoint,
        poll_interval_seconds=settings.poll_interval_seconds,
    )
    address = settings.token_network_address
    if settings.backend == "eth-tester":
        fund_from_development_account(web3, signer.address, DEVELOPMENT_FUNDING_WEI)
        if address is None:
            address = deploy_development(
                sender, settings.token_decimals, out_dir=out_dir
            ).token_network
    if address is None:
        raise RailNotConfigured("SETTLE_CHAIN__TOKEN_NETWORK_ADDRESS", "is not set")
    network = TokenNetworkClient(
        sender,
        address,
        confirmations=settings.confirmations,
        receipt_timeout_seconds=settings.receipt_timeout_seconds,
        out_dir=out_dir,
    )
    token_address = network.contract.functions.token().call()
    watcher = ChainWatcher(
        web3,
        address,
        network.abi,
        confirmations=settings.confirmations,
        max_block_range=settings.log_block_range,
        endpoint=endpoint,
    )
    return EvmRail(web3, sender, network, TokenClient(sender, token_address, out_dir), watcher)
