"""The ERC-20 side of a rail: balances, approvals, and minting on development chains."""

from __future__ import annotations

from pathlib import Path

from eth_typing import ChecksumAddress
from web3 import Web3

from adapters.evm.artifacts import load_artifact
from adapters.evm.transactions import SignedTransaction, TransactionSender


class TokenClient:
    def __init__(
        self, sender: TransactionSender, address: str, out_dir: Path | None = None
    ) -> None:
        self.sender = sender
        self.address: ChecksumAddress = Web3.to_checksum_address(address)
        self.abi = load_artifact("TestToken", out_dir).abi
        self.contract = sender.web3.eth.contract(address=self.address, abi=self.abi)

    def balance_of(self, account: str) -> int:
        return int(self.contract.functions.balanceOf(Web3.to_checksum_address(account)).call())

    def allowance(self, owner: str, spender: str) -> int:
        return int(
            self.contract.functions.allowance(
                Web3.to_checksum_address(owner), Web3.to_checksum_address(spender)
            ).call()
        )

    def decimals(self) -> int:
        return int(self.contract.functions.decimals().call())

    def prepare_approve(self, spender: str, amount: int) -> SignedTransaction:
        data = self.contract.encode_abi("approve", [Web3.to_checksum_address(spender), amount])
        return self.sender.sign("approve", {"to": self.address, "data": data}, self.abi)

    def prepare_mint(self, recipient: str, amount: int) -> SignedTransaction:
        """TestToken only: anyone may mint on a development chain."""
        data = self.contract.encode_abi("mint", [Web3.to_checksum_address(recipient), amount])
        return self.sender.sign("mint", {"to": self.address, "data": data}, self.abi)
