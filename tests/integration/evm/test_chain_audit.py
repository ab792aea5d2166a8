"""The chain audit on Anvil: the TokenNetwork's deployment block found by bisection, its logs
folded in small block ranges into what it should hold, and a tally kept between runs that
reads only new blocks yet agrees with a fresh scan from the start."""

from __future__ import annotations

from typing import Any

from web3 import Web3

from adapters.evm.chain_audit import EvmChainAudit, deployment_block
from adapters.evm.chains import advance_time
from adapters.evm.watcher import ChainWatcher
from tests.support.evm_rail import SETTLE_TIMEOUT, Participant, Rail


class CountingWatcher(ChainWatcher):
    """Counts the block ranges read, to show a kept tally reads only new blocks."""

    ranges: list[tuple[int, int]]

    def poll(self, cursor: int) -> Any:
        batch = super().poll(cursor)
        if batch.to_block >= batch.from_block:
            self.ranges.append((batch.from_block, batch.to_block))
        return batch


def audit_of(rail: Rail, who: Participant, start_block: int | None = None) -> EvmChainAudit:
    network = who.network
    watcher = CountingWatcher(rail.web3, network.address, network.abi, 0, max_block_range=3)
    watcher.ranges = []
    return EvmChainAudit(rail.web3.eth.chain_id, network, who.token.contract, watcher, start_block)


def token_balance(rail: Rail) -> int:
    return rail.alice.token.balance_of(rail.token_network_address)


def test_the_deployment_block_is_the_first_with_the_contract_code(rail: Rail) -> None:
    address = Web3.to_checksum_address(rail.token_network_address)
    found = deployment_block(rail.web3, address)
    assert rail.web3.eth.get_code(address, block_identifier=found)
    assert not rail.web3.eth.get_code(address, block_identifier=found - 1)


def test_the_logs_explain_the_balance_and_a_kept_tally_reads_only_new_blocks(
    rail: Rail,
) -> None:
    # Alice and bob's channel is settled (paid out); mallory's with alice stays open.
    settled = rail.open_funded(100, 50)
    alice = rail.alice.network
    assert alice.execute(alice.prepare_close(settled, None)).succeeded
    advance_time(rail.web3, SETTLE_TIMEOUT + 1)
    assert alice.execute(alice.prepare_settle(settled)).succeeded
    audit = audit_of(rail, rail.mallory)
    first = audit.escrow()
    assert (first.balance, first.expected) == (token_balance(rail), 0)
    assert first.ours == ()
    start = deployment_block(rail.web3, rail.token_network_address)
    assert audit.watcher.ranges[0][0] == start  # type: ignore[attr-defined]

    mallory = rail.mallory.network
    opened = mallory.execute(mallory.prepare_open_channel(rail.alice.address, SETTLE_TIMEOUT))
    onchain_id = mallory.channel_id_from(opened)
    assert mallory.execute(mallory.prepare_set_total_deposit(onchain_id, 40)).succeeded
    assert mallory.execute(mallory.prepare_set_total_deposit(onchain_id, 65)).succeeded
    read_before = list(audit.watcher.ranges)  # type: ignore[attr-defined]
    second = audit.escrow()
    new_ranges = audit.watcher.ranges[len(read_before) :]  # type: ignore[attr-defined]
    assert new_ranges and new_ranges[0][0] == first.block + 1  # only blocks after the first run
    assert second.balance == second.expected == 65 == token_balance(rail)
    [ours] = second.ours
    assert (ours.onchain_id, ours.partner, ours.our_deposit, ours.state) == (
        onchain_id,
        rail.alice.address,
        65,
        "opened",
    )

    fresh = audit_of(rail, rail.mallory, start_block=start).escrow()
    assert (fresh.expected, fresh.ours) == (second.expected, second.ours)
