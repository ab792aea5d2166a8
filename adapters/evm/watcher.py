"""Reads TokenNetwork logs from a cursor up to head minus confirmations, in bounded ranges.

The caller owns the cursor: it records each ChannelLog once per (tx_hash, log_index) and saves
`next_cursor` in the same transaction, so a restart resumes where it left off and an RPC outage
(RpcUnavailable, retryable) leaves the cursor untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from eth_utils.abi import event_abi_to_log_topic
from web3 import Web3

from adapters.evm.errors import classify

CHANNEL_EVENTS = (
    "ChannelOpened",
    "ChannelNewDeposit",
    "ChannelClosed",
    "NonClosingBalanceProofUpdated",
    "ChannelSettled",
)


@dataclass(frozen=True)
class ChannelLog:
    kind: str
    onchain_channel_id: int
    tx_hash: str
    log_index: int
    block_number: int
    fields: dict[str, Any]

    @property
    def key(self) -> tuple[str, int]:
        """What makes a log unique: record each at most once under this key."""
        return (self.tx_hash, self.log_index)


@dataclass(frozen=True)
class WatchBatch:
    logs: tuple[ChannelLog, ...]
    from_block: int
    to_block: int
    next_cursor: int


class ChainWatcher:
    def __init__(
        self,
        web3: Web3,
        token_network_address: str,
        abi: list[dict[str, Any]],
        confirmations: int,
        max_block_range: int = 1000,
        endpoint: str = "node",
    ) -> None:
        if max_block_range < 1:
            raise ValueError(f"max_block_range={max_block_range}: must be at least 1")
        self.web3 = web3
        self.address = Web3.to_checksum_address(token_network_address)
        self.abi = abi
        self.confirmations = confirmations
        self.max_block_range = max_block_range
        self.endpoint = endpoint
        self._contract = web3.eth.contract(address=self.address, abi=abi)
        self._events_by_topic = {
            event_abi_to_log_topic(entry): entry["name"]  # type: ignore[arg-type]
            for entry in abi
            if entry.get("type") == "event" and entry["name"] in CHANNEL_EVENTS
        }

    def safe_head(self) -> int:
        """The newest block with enough confirmations (-1 if none yet)."""
        return int(self._rpc(lambda: self.web3.eth.block_number)) - self.confirmations

    def poll(self, cursor: int) -> WatchBatch:
        """Reads at most one block range starting at `cursor` (the next unread block)."""
        if cursor < 0:
            raise ValueError(f"cursor={cursor}: must not be negative")
        safe_head = self.safe_head()
        if cursor > safe_head:
            return WatchBatch((), cursor, cursor - 1, cursor)
        to_block = min(cursor + self.max_block_range - 1, safe_head)
        raw_logs = self._rpc(
            lambda: self.web3.eth.get_logs(
                {"address": self.address, "fromBlock": cursor, "toBlock": to_block}
            )
        )
        logs = [self._decode(log) for log in raw_logs]
        decoded = tuple(
            sorted(
                (log for log in logs if log is not None),
                key=lambda log: (log.block_number, log.log_index),
            )
        )
        return WatchBatch(decoded, cursor, to_block, to_block + 1)

    def batches(self, cursor: int) -> Iterator[WatchBatch]:
        """Polls range after range until the safe head; the caller saves each next_cursor."""
        while True:
            batch = self.poll(cursor)
            if batch.to_block < batch.from_block:
                return
            yield batch
            cursor = batch.next_cursor

    def _decode(self, log: Any) -> ChannelLog | None:
        topics = log["topics"]
        kind = self._events_by_topic.get(bytes(topics[0])) if topics else None
        if kind is None:
            return None
        event = self._contract.events[kind]().process_log(log)
        fields = {name: _plain(value) for name, value in event["args"].items()}
        return ChannelLog(
            kind=kind,
            onchain_channel_id=int(fields["channelId"]),
            tx_hash="0x" + bytes(log["transactionHash"]).hex(),
            log_index=int(log["logIndex"]),
            block_number=int(log["blockNumber"]),
            fields=fields,
        )

    def _rpc(self, action: Any) -> Any:
        try:
            return action()
        except Exception as error:
            raise classify(error, self.abi, self.endpoint) from error


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, str) and Web3.is_address(value):
        return Web3.to_checksum_address(value)
    return value
