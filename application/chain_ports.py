"""What the channel code needs from a chain, as ports the EVM adapter implements.

The application signs, records, broadcasts and confirms transactions, reads on-chain channel
views and signs balance proofs through these Protocols. Facts come back as the plain values
here (decoded logs, receipts, channel views); failures come back as exceptions tagged
`retryable`, `alert`, `channel_lost`, `nonce_lost`, and contract refusals as `ContractRefusal`
with the contract's error name, so nothing above the adapters imports one of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Protocol

from domain.balance_proof import BalanceProof
from domain.final_balances import CooperativeSettlement


class OnchainChannelState(IntEnum):
    """TokenNetwork.ChannelState, in the contract's order."""

    NON_EXISTENT = 0
    OPENED = 1
    CLOSED = 2
    SETTLED = 3


@dataclass(frozen=True)
class OnchainChannel:
    channel_id: int
    participant1: str
    participant2: str
    state: OnchainChannelState
    closer: str | None
    settle_timeout: int
    settle_after: int


@dataclass(frozen=True)
class OnchainParticipant:
    deposit: int
    nonce: int
    transferred_amount: int
    locked_amount: int
    locks_root: bytes


@dataclass(frozen=True)
class ChannelLog:
    """One TokenNetwork log, decoded: `fields` are the event's arguments by name."""

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


@dataclass(frozen=True)
class Receipt:
    """A confirmed transaction: whether it succeeded, and the TokenNetwork logs it emitted."""

    tx_hash: str
    block_number: int
    succeeded: bool
    events: tuple[ChannelLog, ...]

    def first(self, kind: str) -> ChannelLog:
        for channel_log in self.events:
            if channel_log.kind == kind:
                return channel_log
        raise LookupError(f"no {kind} log in transaction {self.tx_hash}")


class ContractRefusal(Exception):
    """The contract refused a call: `error_name` and `arguments` are its custom error."""

    error_name: str
    arguments: dict[str, Any]


class SignedChainTransaction(Protocol):
    """A transaction signed and not yet sent: what Channel.TransactionSigned records."""

    @property
    def purpose(self) -> str: ...
    @property
    def tx_hash(self) -> str: ...
    @property
    def raw_transaction(self) -> bytes: ...
    @property
    def sender(self) -> str: ...
    @property
    def nonce(self) -> int: ...


class TokenNetworkPort(Protocol):
    """One TokenNetwork contract, with our key: `prepare_*` signs a call and sends nothing."""

    @property
    def address(self) -> str: ...
    @property
    def our_address(self) -> str: ...

    def sign_balance_proof(self, proof: BalanceProof) -> bytes: ...
    def verify_partner_proof(self, proof: BalanceProof, signature: bytes, partner: str) -> None:
        """Raises InvalidProofSignature unless `partner` signed `proof` for this contract."""
        ...

    def sign_cooperative_settlement(self, settlement: CooperativeSettlement) -> bytes: ...
    def verify_cooperative_settlement(
        self, settlement: CooperativeSettlement, signature: bytes, signer: str
    ) -> None: ...

    def prepare_open_channel(self, partner: str, settle_timeout: int) -> SignedChainTransaction: ...
    def prepare_set_total_deposit(
        self, channel_id: int, total_deposit: int
    ) -> SignedChainTransaction: ...
    def prepare_cooperative_settle(
        self,
        settlement: CooperativeSettlement,
        participant1_signature: bytes,
        participant2_signature: bytes,
    ) -> SignedChainTransaction: ...
    def prepare_close(
        self, channel_id: int, partner_proof: BalanceProof | None, signature: bytes = b""
    ) -> SignedChainTransaction: ...
    def prepare_update(
        self, channel_id: int, closer_proof: BalanceProof, signature: bytes
    ) -> SignedChainTransaction: ...
    def prepare_settle(self, channel_id: int) -> SignedChainTransaction: ...

    def channel(self, channel_id: int) -> OnchainChannel: ...
    def participant(self, channel_id: int, participant: str) -> OnchainParticipant: ...
    def open_channel_with(self, partner: str) -> int | None: ...
    def chain_time(self) -> int:
        """The timestamp of the newest block: what the contract's challenge periods count in."""
        ...


class TokenPort(Protocol):
    def balance_of(self, account: str) -> int: ...
    def prepare_approve(self, spender: str, amount: int) -> SignedChainTransaction: ...


class TransactionPort(Protocol):
    """Broadcasting recorded transactions of one key on one chain, and confirming them."""

    def restore(
        self, purpose: str, tx_hash: str, raw_transaction: str, sender: str, nonce: int
    ) -> SignedChainTransaction:
        """A recorded transaction again, its bytes checked against its hash."""
        ...

    def count_nonce_used(self, sender: str, nonce: int) -> None:
        """A recorded (maybe never broadcast) transaction holds its nonce: sign nothing over it."""
        ...

    def broadcast(self, signed: SignedChainTransaction) -> None:
        """Sends the bytes; already known or mined is success. An error tagged `nonce_lost`
        means another transaction took the nonce: these bytes can never be mined."""
        ...

    def wait_confirmed(self, tx_hash: str) -> Receipt: ...
    def explain_failure(self, tx_hash: str, block_number: int) -> Exception:
        """Why a mined transaction reverted, decoded (a ContractRefusal when the contract said)."""
        ...


class LogSource(Protocol):
    def batches(self, cursor: int) -> Iterator[WatchBatch]:
        """TokenNetwork logs from block `cursor` up to the safe head, range by range."""
        ...
