"""Reads TokenNetwork logs from a cursor up to head minus confirmations, in bounded ranges.

The caller owns the cursor: it records each ChannelLog once per (tx_hash, log_index) and saves
`next_cursor` in the same transaction, so a restart resumes where it left off and an RPC outage
(RpcUnavailable, retryable) leaves the cursor untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from web3 import Web3

from adapters.evm.errors import classify
from adapters.evm.logs import CHANNEL_EVENTS, ChannelLogDecoder
from application.chain_ports import ChannelLog, WatchBatch


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
        self._decoder = ChannelLogDecoder(web3, self.address, abi)

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
        return WatchBatch(self._decoder.decode_all(raw_logs), cursor, to_block, to_block + 1)

    def batches(self, cursor: int) -> Iterator[WatchBatch]:
        """Polls range after range until the safe head; the caller saves each next_cursor."""
        while True:
            batch = self.poll(cursor)
            if batch.to_block < batch.from_block:
                return
            yield batch
            cursor = batch.next_cursor

    def _rpc(self, action: Any) -> Any:
        try:
            return action()
        except Exception as error:
            raise classify(error, self.abi, self.endpoint) from error


__all__ = ["CHANNEL_EVENTS", "ChainWatcher", "ChannelLog", "WatchBatch"]
