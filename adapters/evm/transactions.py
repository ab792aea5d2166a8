"""Signing transactions without sending them, broadcasting idempotently, waiting for confirmations.

The crash-safe order is: `sign()` returns (tx hash, raw bytes, nonce) -> the caller records them
as an event -> `broadcast()` the recorded bytes -> `wait_confirmed()`. After a restart the caller
broadcasts the recorded bytes again: the same hash can be mined at most once, so nothing pays twice.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak
from web3 import Web3
from web3.exceptions import TransactionNotFound

from adapters.evm.errors import ConfirmationTimeout, EvmError, NonceConflict, classify
from adapters.signing.signer import Signer

logger = logging.getLogger(__name__)


class CorruptTransactionRecord(Exception):
    """A recorded transaction whose bytes do not hash to its recorded hash."""

    def __init__(self, tx_hash: str, actual_hash: str) -> None:
        self.tx_hash = tx_hash
        self.actual_hash = actual_hash
        super().__init__(
            f"recorded tx_hash={tx_hash} but its raw_transaction hashes to {actual_hash}"
        )


@dataclass(frozen=True)
class SignedTransaction:
    purpose: str
    tx_hash: str
    raw_transaction: bytes
    sender: ChecksumAddress
    nonce: int

    def to_record(self) -> dict[str, str | int]:
        """The fields of Channel.TransactionSigned (raw bytes as 0x-hex)."""
        return {
            "purpose": self.purpose,
            "tx_hash": self.tx_hash,
            "raw_transaction": "0x" + self.raw_transaction.hex(),
            "sender": self.sender,
            "nonce": self.nonce,
        }

    @classmethod
    def from_record(
        cls, purpose: str, tx_hash: str, raw_transaction: str, sender: str, nonce: int
    ) -> SignedTransaction:
        """Rebuilds a recorded transaction after a restart, checking its bytes match its hash."""
        raw = bytes.fromhex(raw_transaction.removeprefix("0x"))
        actual = transaction_hash(raw)
        if actual != tx_hash.lower():
            raise CorruptTransactionRecord(tx_hash, actual)
        return cls(purpose, actual, raw, Web3.to_checksum_address(sender), nonce)


@dataclass(frozen=True)
class Confirmation:
    tx_hash: str
    block_number: int
    succeeded: bool
    gas_used: int
    confirmations: int
    logs: tuple[Any, ...]


def transaction_hash(raw_transaction: bytes) -> str:
    """The hash of a signed (typed or legacy) transaction is keccak of its raw bytes."""
    return "0x" + keccak(raw_transaction).hex()


class NonceManager:
    """Hands out nonces per sending key: the larger of the node's pending count and our own."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: dict[str, int] = {}

    def reserve(self, web3: Web3, sender: ChecksumAddress) -> int:
        with self._lock:
            on_chain = web3.eth.get_transaction_count(sender, "pending")
            nonce = max(on_chain, self._next.get(sender, 0))
            self._next[sender] = nonce + 1
            return nonce

    def observe(self, sender: ChecksumAddress, nonce: int) -> None:
        """Counts a recorded (maybe never broadcast) transaction's nonce as used: call it for each
        unconfirmed recorded transaction at start-up, before signing anything new."""
        with self._lock:
            self._next[sender] = max(self._next.get(sender, 0), nonce + 1)

    def forget(self, sender: ChecksumAddress) -> None:
        """Drops local knowledge (after a nonce conflict) so the node's count rules again."""
        with self._lock:
            self._next.pop(sender, None)


class TransactionSender:
    """Builds, signs, broadcasts and confirms transactions for one signer on one chain."""

    def __init__(
        self,
        web3: Web3,
        signer: Signer,
        nonces: NonceManager,
        abi: list[dict[str, Any]] | None = None,
        *,
        endpoint: str = "node",
        gas_margin_percent: int = 20,
        poll_interval_seconds: float = 0.2,
    ) -> None:
        self.web3 = web3
        self.signer = signer
        self.nonces = nonces
        self.abi = abi or []
        self.endpoint = endpoint
        self.gas_margin_percent = gas_margin_percent
        self.poll_interval_seconds = poll_interval_seconds
        self._chain_id: int | None = None

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = self._call(lambda: self.web3.eth.chain_id)
        return self._chain_id

    def sign(
        self,
        purpose: str,
        transaction: dict[str, Any],
        abi: list[dict[str, Any]] | None = None,
    ) -> SignedTransaction:
        """Estimates gas (a revert surfaces here, decoded against `abi`), fills fees and nonce,
        and signs. Sends nothing."""
        sender = self.signer.address
        call = {**transaction, "from": sender}
        gas = self._call(lambda: self.web3.eth.estimate_gas(call), abi)  # type: ignore[arg-type]
        block = self._call(lambda: self.web3.eth.get_block("latest"))
        base_fee = int(block.get("baseFeePerGas", 0))
        tip = self._call(lambda: self.web3.eth.max_priority_fee)
        nonce = self._call(lambda: self.nonces.reserve(self.web3, sender))
        complete = {
            **transaction,
            "chainId": self.chain_id,
            "nonce": nonce,
            "gas": gas * (100 + self.gas_margin_percent) // 100,
            "maxPriorityFeePerGas": tip,
            "maxFeePerGas": 2 * base_fee + tip,
            "type": 2,
        }
        complete.pop("from", None)
        try:
            raw = self.signer.sign_transaction(complete)
        except Exception:
            self.nonces.forget(sender)  # the reserved nonce was not used: no gap
            raise
        signed = SignedTransaction(purpose, transaction_hash(raw), raw, sender, nonce)
        logger.info(
            "transaction signed",
            extra={"purpose": purpose, "tx_hash": signed.tx_hash, "sender": sender, "nonce": nonce},
        )
        return signed

    def broadcast(self, signed: SignedTransaction) -> None:
        """Sends the recorded bytes; a node that already has (or mined) this hash is success."""
        try:
            self.web3.eth.send_raw_transaction(signed.raw_transaction)
        except Exception as error:
            if self.is_known(signed.tx_hash):
                logger.info("transaction already known", extra={"tx_hash": signed.tx_hash})
                return
            classified = classify(error, self.abi, self.endpoint, signed.sender)
            if isinstance(classified, NonceConflict):
                self.nonces.forget(signed.sender)
            raise classified from error
        logger.info("transaction broadcast", extra={"tx_hash": signed.tx_hash})

    def is_known(self, tx_hash: str) -> bool:
        """Whether the node has the transaction, pending or mined."""
        try:
            self._call(lambda: self.web3.eth.get_transaction(tx_hash))  # type: ignore[arg-type]
        except TransactionNotFound:
            return False
        return True

    def receipt(self, tx_hash: str) -> Any | None:
        try:
            return self._call(lambda: self.web3.eth.get_transaction_receipt(tx_hash))  # type: ignore[arg-type]
        except TransactionNotFound:
            return None

    def wait_confirmed(
        self, tx_hash: str, confirmations: int, timeout_seconds: float = 120.0
    ) -> Confirmation:
        """Waits until the receipt is `confirmations` blocks deep (0: mined is enough)."""
        deadline = time.monotonic() + timeout_seconds
        while True:
            receipt = self.receipt(tx_hash)
            if receipt is not None:
                head = self._call(lambda: self.web3.eth.block_number)
                depth = head - receipt["blockNumber"]
                if depth >= confirmations:
                    return Confirmation(
                        tx_hash=tx_hash,
                        block_number=receipt["blockNumber"],
                        succeeded=receipt["status"] == 1,
                        gas_used=receipt["gasUsed"],
                        confirmations=depth,
                        logs=tuple(receipt["logs"]),
                    )
            if time.monotonic() >= deadline:
                raise ConfirmationTimeout(tx_hash, timeout_seconds)
            time.sleep(self.poll_interval_seconds)

    def _call(self, action: Any, abi: list[dict[str, Any]] | None = None) -> Any:
        """Runs one RPC call; failures come out classified (reverts decoded, outages retryable)."""
        try:
            return action()
        except (TransactionNotFound, EvmError):
            raise
        except Exception as error:
            raise classify(error, abi or self.abi, self.endpoint, self.signer.address) from error
