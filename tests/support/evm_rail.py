"""Builds a development rail on any chain: contracts deployed, two participants funded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from adapters.evm.chains import deploy_development, fund_from_development_account
from adapters.evm.token import TokenClient
from adapters.evm.token_network import TokenNetworkClient
from adapters.evm.transactions import NonceManager, TransactionSender
from adapters.signing import LocalKeySigner

TOKENS_EACH = 1_000_000
SETTLE_TIMEOUT = 600


@dataclass
class Participant:
    signer: LocalKeySigner
    sender: TransactionSender
    token: TokenClient
    network: TokenNetworkClient

    @property
    def address(self) -> str:
        return self.signer.address


@dataclass
class Rail:
    web3: Web3
    token_address: str
    token_network_address: str
    alice: Participant
    bob: Participant
    mallory: Participant
    out_dir: Path

    def open_funded(self, alice_deposit: int, bob_deposit: int) -> int:
        """Alice opens a channel with bob; both deposit; returns the on-chain channel id."""
        confirmation = self.alice.network.execute(
            self.alice.network.prepare_open_channel(self.bob.address, SETTLE_TIMEOUT)
        )
        channel_id = self.alice.network.channel_id_from(confirmation)
        for participant, amount in ((self.alice, alice_deposit), (self.bob, bob_deposit)):
            if amount:
                participant.network.execute(
                    participant.network.prepare_set_total_deposit(channel_id, amount)
                )
        return channel_id


def new_participant(
    web3: Web3,
    nonces: NonceManager,
    token: str,
    network: str,
    out_dir: Path,
    account: LocalAccount | None = None,
) -> Participant:
    signer = LocalKeySigner(account or Account.create())
    fund_from_development_account(web3, signer.address, 10**19)
    sender = TransactionSender(web3, signer, nonces, poll_interval_seconds=0.05)
    token_client = TokenClient(sender, token, out_dir)
    network_client = TokenNetworkClient(sender, network, confirmations=0, out_dir=out_dir)
    network_client.execute(token_client.prepare_mint(signer.address, TOKENS_EACH))
    network_client.execute(token_client.prepare_approve(network, 2**256 - 1))
    return Participant(signer, sender, token_client, network_client)


def build_rail(web3: Web3, out_dir: Path) -> Rail:
    nonces = NonceManager()
    deployer = LocalKeySigner(Account.create())
    fund_from_development_account(web3, deployer.address, 10**19)
    contracts = deploy_development(
        TransactionSender(web3, deployer, nonces, poll_interval_seconds=0.05),
        token_decimals=6,
        out_dir=out_dir,
    )
    people = [
        new_participant(web3, nonces, contracts.token, contracts.token_network, out_dir)
        for _ in range(3)
    ]
    return Rail(
        web3, contracts.token, contracts.token_network, people[0], people[1], people[2], out_dir
    )
