"""What reconciliation's chain scan costs on Anvil: finding the TokenNetwork's deployment block
by bisection, folding its logs from there in block ranges, and a second run on the kept tally.

Strangers open channels with deposits on the token network (--channels), then empty blocks are
mined (--blocks) so the scan has ranges to page through. No assertion: figures to compare.

    python -m benchmarks.bench_chain_audit [--channels 100] [--blocks 5000] [--range 1000]
"""

from __future__ import annotations

import argparse
import itertools
import time

from adapters.evm.artifacts import default_out_dir
from adapters.evm.chain_audit import EvmChainAudit, deployment_block
from adapters.evm.chains import connect_rpc
from adapters.evm.transactions import NonceManager
from adapters.evm.watcher import ChainWatcher
from devtools.anvil import ANVIL, AnvilProcess
from tests.support.evm_rail import SETTLE_TIMEOUT, build_rail, new_participant


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--channels", type=int, default=100)
    parser.add_argument("--blocks", type=int, default=5_000)
    parser.add_argument("--range", type=int, default=1000)
    args = parser.parse_args()
    with AnvilProcess(ANVIL) as node:
        web3 = connect_rpc(node.url, 10)
        out = default_out_dir()
        rail = build_rail(web3, out)
        nonces = NonceManager()
        people = [
            new_participant(web3, nonces, rail.token_address, rail.token_network_address, out)
            for _ in range(args.channels + 1)
        ]
        for opener, partner in itertools.pairwise(people):
            network = opener.network
            opened = network.execute(network.prepare_open_channel(partner.address, SETTLE_TIMEOUT))
            network.execute(network.prepare_set_total_deposit(network.channel_id_from(opened), 7))
        for _ in range(0, args.blocks, 100):  # in chunks: Anvil mines 1000 at once slowly
            web3.provider.make_request("anvil_mine", [hex(100)])  # type: ignore[arg-type]
        head = web3.eth.block_number

        started = time.perf_counter()
        try:
            deployed: int | str = deployment_block(web3, rail.token_network_address)
        except Exception as error:  # Anvil keeps a window of states in memory
            deployed = f"unknown ({type(error).__name__}): the scan starts at 0"
        bisect = time.perf_counter() - started
        network = rail.alice.network
        watcher = ChainWatcher(web3, network.address, network.abi, 0, args.range)
        audit = EvmChainAudit(web3.eth.chain_id, network, rail.alice.token.contract, watcher)
        started = time.perf_counter()
        escrow = audit.escrow()
        first = time.perf_counter() - started
        started = time.perf_counter()
        audit.escrow()
        again = time.perf_counter() - started
    scanned = head - (deployed if isinstance(deployed, int) else 0) + 1
    assert escrow.balance == escrow.expected, (escrow.balance, escrow.expected)
    print(f"chain: head {head}, token network deployed in block {deployed}")
    print(f"channels of strangers: {args.channels}, escrow {escrow.expected} (= balance)")
    print(f"deployment block by bisection: {bisect * 1000:.0f} ms (failed ones included)")
    print(
        f"first scan: {scanned} blocks in ranges of {args.range}: {first:.2f} s"
        f" ({scanned / first:,.0f} blocks/s), bisection included"
    )
    print(f"second run on the kept tally (no new blocks): {again * 1000:.0f} ms")


if __name__ == "__main__":
    main()
