"""Reading what a TokenNetwork holds, for reconciliation: channel states, deposits, escrow.

Read-only: it signs and sends nothing. The escrow is read from the contract's own logs (every
participant's channels, not only ours), scanned in bounded block ranges up to the safe head
from a configured start block, else from the deployment block found by bisecting `eth_getCode`,
else (a node keeping no state that old) from block 0, as the chain sync does. The logs are
folded into an `EscrowTally` and the token balance is read at the block the scan reached. The
tally is kept between runs, so a scheduled reconciler reads only new blocks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from web3 import Web3

from adapters.evm.errors import classify
from adapters.evm.watcher import ChainWatcher
from application.chain_ports import TokenNetworkPort
from application.reconciliation_chain import ChainEscrow, EscrowTally
from application.reconciliation_checks import ChainChannel
from domain.address import Address

log = logging.getLogger(__name__)


class EvmChainAudit:
    """The ChainAuditPort for one rail: a TokenNetwork, its token contract and its logs.

    `synced_to` tells where the node's chain sync has read up to (its cursor), so a channel
    opened in a block it has not read yet is not taken for one the books do not know.
    """

    def __init__(
        self,
        chain_id: int,
        network: TokenNetworkPort,
        token_contract: Any,
        watcher: ChainWatcher,
        start_block: int | None = None,
        synced_to: Callable[[], int | None] = lambda: None,
    ) -> None:
        self._chain_id = chain_id
        self.network = network
        self.token_contract = token_contract
        self.watcher = watcher
        self.start_block = start_block
        self.synced_to = synced_to
        self._tally: EscrowTally | None = None

    @property
    def chain_id(self) -> int:
        return self._chain_id

    @property
    def token_network(self) -> str:
        return str(self.network.address)

    def channel(self, onchain_id: int, our_address: str, partner_address: str) -> ChainChannel:
        view = self.network.channel(onchain_id)
        ours = self.network.participant(onchain_id, our_address)
        theirs = self.network.participant(onchain_id, partner_address)
        return ChainChannel(view.state, ours.deposit, theirs.deposit)

    def escrow(self) -> ChainEscrow:
        """The logs folded up to the safe head and the balance at the block they reach."""
        synced_to = self.synced_to()  # read first: the sync may move on while we scan
        tally = self._tally or EscrowTally(
            Address(str(self.network.our_address)), self._first_block()
        )
        for batch in self.watcher.batches(tally.next_block):
            tally.fold(batch.logs, batch.next_cursor)
        self._tally = tally
        block = tally.next_block - 1
        balance = self._rpc(
            lambda: self.token_contract.functions.balanceOf(self.watcher.address).call(
                block_identifier=block
            )
        )
        return ChainEscrow(
            self.token_network,
            block,
            int(balance),
            tally.expected,
            tuple(tally.ours.values()),
            synced_to,
        )

    def _first_block(self) -> int:
        if self.start_block is not None:
            return self.start_block
        try:
            found = deployment_block(self.watcher.web3, self.watcher.address)
        except Exception as error:
            # A node keeping no old state (most, and Anvil past its in-memory window) cannot
            # say; logs need no state, so the scan starts at 0 as the chain sync does.
            log.warning(
                "token network deployment block unknown: scanning its logs from block 0;"
                " set SETTLE_CHAIN__AUDIT_START_BLOCK to start later",
                extra={"token_network": self.token_network, "error": repr(error)},
            )
            return 0
        log.info(
            "token network deployment block",
            extra={"token_network": self.token_network, "block": found},
        )
        return found

    def _rpc(self, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except Exception as error:
            raise classify(error, self.watcher.abi, self.watcher.endpoint) from error


def deployment_block(web3: Web3, address: str) -> int:
    """The first block at which `address` has code, by bisection (about log2(head) calls).

    Needs the node to answer `eth_getCode` at past blocks (an archive node, or Anvil within
    its in-memory window of states); raises what the node answers when it cannot.
    """
    checksum = Web3.to_checksum_address(address)
    low, high = 0, int(web3.eth.block_number)
    if not web3.eth.get_code(checksum, block_identifier=high):
        raise ValueError(f"no contract at {checksum} at block {high}")
    while low < high:
        middle = (low + high) // 2
        if web3.eth.get_code(checksum, block_identifier=middle):
            high = middle
        else:
            low = middle + 1
    return low
