"""send_or_resume with a fake chain: recorded before broadcast, recorded bytes re-sent instead of a
new transaction, a transaction that lost its nonce dropped and replaced, start-up never failing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast
from uuid import UUID

import pytest

from application.app import SettlementApp
from application.chain_ports import (
    Receipt,
    SignedChainTransaction,
    TokenNetworkPort,
    TokenPort,
)
from application.chain_transactions import ChainTransactions
from application.channel_directory import ChannelDirectory
from application.rails.registry import ChainRail, RailRegistry
from domain.channel import Channel

OURS = "0x00000000000000000000000000000000000000aa"
THEIRS = "0x00000000000000000000000000000000000000bb"
NETWORK = "0x00000000000000000000000000000000000000cc"


@dataclass(frozen=True)
class Signed:
    purpose: str
    tx_hash: str
    raw_transaction: bytes
    sender: str
    nonce: int


class NonceLost(Exception):
    nonce_lost = True


class Refused(Exception):
    pass


@dataclass
class FakeChain:
    """Broadcasts land in `sent`; hashes in `nonce_taken` were beaten to their nonce."""

    app: SettlementApp
    channel_id: UUID | None = None
    sent: list[str] = field(default_factory=list)
    nonce_taken: set[str] = field(default_factory=set)
    reverts: set[str] = field(default_factory=set)
    counted: list[int] = field(default_factory=list)

    def restore(
        self, purpose: str, tx_hash: str, raw_transaction: str, sender: str, nonce: int
    ) -> Signed:
        return Signed(purpose, tx_hash, bytes.fromhex(raw_transaction[2:]), sender, nonce)

    def count_nonce_used(self, sender: str, nonce: int) -> None:
        self.counted.append(nonce)

    def broadcast(self, signed: SignedChainTransaction) -> None:
        assert self.channel_id is not None
        recorded = recorded_transactions(self.app, self.channel_id)
        assert signed.tx_hash in recorded, "broadcast before it was recorded"
        if signed.tx_hash in self.nonce_taken:
            raise NonceLost(f"nonce too low: {signed.nonce}")
        self.sent.append(signed.tx_hash)

    def wait_confirmed(self, tx_hash: str) -> Receipt:
        return Receipt(tx_hash, 10, tx_hash not in self.reverts, ())

    def explain_failure(self, tx_hash: str, block_number: int) -> Exception:
        return Refused(tx_hash)


def recorded_transactions(app: SettlementApp, channel_id: UUID) -> dict[str, dict[str, Any]]:
    """Every transaction recorded for the channel, final ones included (the index's)."""
    return {row.tx_hash: row.as_recorded() for row in app.recorded_transactions(channel_id)}


class FakeNetwork:
    address = NETWORK
    our_address = OURS


class Directory:
    def __init__(self, channel_ids: list[UUID]) -> None:
        self.channel_ids = channel_ids

    def all_channels(self) -> list[UUID]:
        return self.channel_ids


@pytest.fixture
def setup() -> tuple[SettlementApp, FakeChain, ChainRail, ChainTransactions, UUID]:
    app = SettlementApp()
    channel = Channel.request_open("k", "bob", "USD", 1, NETWORK, OURS, THEIRS, 600)
    app.create(channel)
    chain = FakeChain(app, channel.id)
    network, token = cast(TokenNetworkPort, FakeNetwork()), cast(TokenPort, None)
    rail = ChainRail("r", 1, network, token, chain, 6, 600, threading.RLock())
    directory = cast(ChannelDirectory, Directory([channel.id]))
    sender = ChainTransactions(app, directory, RailRegistry({"r": rail}))
    return app, chain, rail, sender, channel.id


def signer(purpose: str) -> tuple[list[int], Callable[[], Signed]]:
    made: list[int] = []

    def prepare() -> Signed:
        made.append(1)
        n = len(made)
        return Signed(purpose, f"0x{purpose}{n}", bytes([n]), OURS, 40 + n)

    return made, prepare


def test_a_transaction_is_recorded_then_sent_and_a_repeat_resends_the_recorded_bytes(
    setup: tuple[SettlementApp, FakeChain, ChainRail, ChainTransactions, UUID],
) -> None:
    app, chain, rail, sender, channel_id = setup
    made, prepare = signer("open")
    first = sender.send_or_resume(channel_id, rail, "open", prepare)
    again = sender.send_or_resume(channel_id, rail, "open", prepare)
    assert len(made) == 1  # the second call built nothing new
    assert chain.sent == ["0xopen1", "0xopen1"] and first.tx_hash == again.tx_hash
    assert recorded_transactions(app, channel_id)["0xopen1"]["confirmed"] is True


def test_a_transaction_that_lost_its_nonce_is_dropped_and_its_purpose_sent_anew(
    setup: tuple[SettlementApp, FakeChain, ChainRail, ChainTransactions, UUID],
) -> None:
    app, chain, rail, sender, channel_id = setup
    _made, prepare = signer("open")
    chain.nonce_taken = {"0xopen1"}
    receipt = sender.send_or_resume(channel_id, rail, "open", prepare)
    assert receipt.tx_hash == "0xopen2" and chain.sent == ["0xopen2"]
    txs = recorded_transactions(app, channel_id)
    assert txs["0xopen1"]["dropped"] is True and txs["0xopen2"]["succeeded"] is True
    names = [type(e).__name__ for e in app.history(channel_id)]
    assert names.count("TransactionDropped") == 1


def test_start_up_drops_a_recorded_transaction_whose_nonce_was_taken_and_does_not_fail(
    setup: tuple[SettlementApp, FakeChain, ChainRail, ChainTransactions, UUID],
) -> None:
    app, chain, _rail, sender, channel_id = setup
    app.record_transaction_signed(channel_id, "open", Signed("open", "0xa", b"\x01", OURS, 7))
    app.record_transaction_signed(channel_id, "approve:5", Signed("a", "0xb", b"\x02", OURS, 8))
    chain.nonce_taken = {"0xa"}
    assert sender.resume_all() == 2
    assert chain.counted == [7, 8]  # both nonces counted before anything was sent
    assert chain.sent == ["0xb"]  # the dropped one is never sent again
    channel = app.channel(channel_id)
    assert channel.unconfirmed_transactions() == []
    assert app.live_transaction(channel_id, "open") is None  # the next open signs a new one
    assert sender.resume_all() == 0  # a second start has nothing left to resume


def test_a_reverted_transaction_raises_the_reason_and_is_recorded_failed(
    setup: tuple[SettlementApp, FakeChain, ChainRail, ChainTransactions, UUID],
) -> None:
    app, chain, rail, sender, channel_id = setup
    made, prepare = signer("settle")
    chain.reverts = {"0xsettle1"}
    with pytest.raises(Refused):
        sender.send_or_resume(channel_id, rail, "settle", prepare)
    assert recorded_transactions(app, channel_id)["0xsettle1"]["succeeded"] is False
    sender.send_or_resume(channel_id, rail, "settle", prepare)
    assert len(made) == 2  # a failed one is not resumed: a new one is signed
