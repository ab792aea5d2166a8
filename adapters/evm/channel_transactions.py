"""The TransactionPort of one rail: recorded transactions broadcast, confirmed, and explained.

It wraps the key's TransactionSender with the rail's confirmation depth and receipt timeout,
decodes a receipt's TokenNetwork logs into ChannelLog facts (the watcher's decoder), and
decodes why a mined transaction reverted against the TokenNetwork's errors.
"""

from __future__ import annotations

from web3 import Web3

from adapters.evm.logs import ChannelLogDecoder
from adapters.evm.token_network import TokenNetworkClient
from adapters.evm.transactions import SignedTransaction
from application.chain_ports import Receipt, SignedChainTransaction


class EvmTransactions:
    def __init__(self, network: TokenNetworkClient) -> None:
        self.network = network
        self.sender = network.sender
        self._decoder = ChannelLogDecoder(network.web3, network.address, network.abi)

    def restore(
        self, purpose: str, tx_hash: str, raw_transaction: str, sender: str, nonce: int
    ) -> SignedTransaction:
        return SignedTransaction.from_record(purpose, tx_hash, raw_transaction, sender, nonce)

    def count_nonce_used(self, sender: str, nonce: int) -> None:
        self.sender.nonces.observe(Web3.to_checksum_address(sender), nonce)

    def broadcast(self, signed: SignedChainTransaction) -> None:
        self.sender.broadcast(_evm(signed))

    def wait_confirmed(self, tx_hash: str) -> Receipt:
        confirmation = self.sender.wait_confirmed(
            tx_hash, self.network.confirmations, self.network.receipt_timeout_seconds
        )
        return Receipt(
            tx_hash=confirmation.tx_hash,
            block_number=confirmation.block_number,
            succeeded=confirmation.succeeded,
            events=self._decoder.decode_all(confirmation.logs),
        )

    def explain_failure(self, tx_hash: str, block_number: int) -> Exception:
        return self.network.explain_failure(tx_hash, block_number)


def _evm(signed: SignedChainTransaction) -> SignedTransaction:
    if isinstance(signed, SignedTransaction):
        return signed
    return SignedTransaction(
        signed.purpose,
        signed.tx_hash,
        signed.raw_transaction,
        Web3.to_checksum_address(signed.sender),
        signed.nonce,
    )
