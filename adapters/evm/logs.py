"""Decoding TokenNetwork logs into ChannelLog facts: one decoder for the chain watcher and for
the receipts of our own transactions, so both record a fact under the same (tx hash, log index)."""

from __future__ import annotations

from typing import Any

from eth_utils.abi import event_abi_to_log_topic
from web3 import Web3

from application.chain_ports import ChannelLog

CHANNEL_EVENTS = (
    "ChannelOpened",
    "ChannelNewDeposit",
    "ChannelClosed",
    "NonClosingBalanceProofUpdated",
    "ChannelSettled",
)


class ChannelLogDecoder:
    def __init__(self, web3: Web3, token_network_address: str, abi: list[dict[str, Any]]) -> None:
        self.address = Web3.to_checksum_address(token_network_address)
        self._contract = web3.eth.contract(address=self.address, abi=abi)
        self._events_by_topic = {
            event_abi_to_log_topic(entry): entry["name"]  # type: ignore[arg-type]
            for entry in abi
            if entry.get("type") == "event" and entry["name"] in CHANNEL_EVENTS
        }

    def decode(self, log: Any) -> ChannelLog | None:
        """The log as a ChannelLog, or None if it is not a channel event of this contract."""
        if Web3.to_checksum_address(log["address"]) != self.address:
            return None
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

    def decode_all(self, logs: Any) -> tuple[ChannelLog, ...]:
        """The channel events among `logs`, in chain order."""
        decoded = (self.decode(log) for log in logs)
        return tuple(
            sorted(
                (log for log in decoded if log is not None),
                key=lambda log: (log.block_number, log.log_index),
            )
        )


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, str) and Web3.is_address(value):
        return Web3.to_checksum_address(value)
    return value
