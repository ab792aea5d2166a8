"""Gas and wall time per TokenNetwork operation on Anvil, through the adapter.

Run: python -m benchmarks.bench_evm_gas [--channels N]
Wall time is sign + broadcast + receipt on an auto-mining local Anvil (no confirmations), the
median over N channels; the baseline is an ERC-20 approve measured the same way in the same
run, so the ratios compare like with like.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from collections.abc import Callable

from adapters.evm.artifacts import default_out_dir
from adapters.evm.balance_proof import BalanceProof, CooperativeSettlement
from adapters.evm.chains import advance_time, connect_rpc
from adapters.evm.token_network import TokenNetworkClient
from adapters.evm.transactions import Confirmation, SignedTransaction
from devtools.anvil import AnvilProcess
from tests.support.evm_rail import SETTLE_TIMEOUT, Rail, build_rail

Samples = dict[str, list[tuple[int, float]]]


def measure(
    samples: Samples,
    operation: str,
    network: TokenNetworkClient,
    prepare: Callable[[], SignedTransaction],
) -> Confirmation:
    started = time.perf_counter()
    confirmation = network.execute(prepare())
    samples[operation].append((confirmation.gas_used, time.perf_counter() - started))
    return confirmation


def one_round(rail: Rail, samples: Samples) -> None:
    alice, bob = rail.alice.network, rail.bob.network
    measure(
        samples,
        "baseline: ERC-20 approve",
        alice,
        lambda: rail.alice.token.prepare_approve(rail.mallory.address, 1),
    )
    opened = measure(
        samples, "open", alice, lambda: alice.prepare_open_channel(rail.bob.address, SETTLE_TIMEOUT)
    )
    channel = alice.channel_id_from(opened)
    measure(samples, "deposit", alice, lambda: alice.prepare_set_total_deposit(channel, 1000))
    measure(samples, "top-up", alice, lambda: alice.prepare_set_total_deposit(channel, 1500))
    measure(samples, "deposit", bob, lambda: bob.prepare_set_total_deposit(channel, 1000))
    final = CooperativeSettlement(channel, rail.alice.address, 1200, rail.bob.address, 1300)
    signatures = (alice.sign_cooperative_settlement(final), bob.sign_cooperative_settlement(final))
    measure(
        samples,
        "cooperative settle",
        bob,
        lambda: bob.prepare_cooperative_settle(final, *signatures),
    )

    opened = measure(
        samples, "open", alice, lambda: alice.prepare_open_channel(rail.bob.address, SETTLE_TIMEOUT)
    )
    channel = alice.channel_id_from(opened)
    measure(samples, "deposit", alice, lambda: alice.prepare_set_total_deposit(channel, 1000))
    measure(samples, "deposit", bob, lambda: bob.prepare_set_total_deposit(channel, 1000))
    bob_proof = BalanceProof(channel, 3, 300)
    bob_signature = bob.sign_balance_proof(bob_proof)
    measure(samples, "close", alice, lambda: alice.prepare_close(channel, bob_proof, bob_signature))
    alice_proof = BalanceProof(channel, 5, 500)
    alice_signature = alice.sign_balance_proof(alice_proof)
    measure(
        samples, "update", bob, lambda: bob.prepare_update(channel, alice_proof, alice_signature)
    )
    advance_time(rail.web3, SETTLE_TIMEOUT + 1)
    measure(samples, "settle", bob, lambda: bob.prepare_settle(channel))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=5, help="rounds of each flow (default 5)")
    args = parser.parse_args()
    samples: Samples = defaultdict(list)
    with AnvilProcess() as node:
        rail = build_rail(connect_rpc(node.url, 10), default_out_dir())
        for _ in range(args.channels):
            one_round(rail, samples)
    baseline_gas = statistics.median(gas for gas, _ in samples["baseline: ERC-20 approve"])
    baseline_ms = statistics.median(s for _, s in samples["baseline: ERC-20 approve"]) * 1000
    print(f"TokenNetwork on Anvil, {args.channels} rounds; median gas and wall time per operation")
    print(f"{'operation':<26}{'n':>4}{'gas':>10}{'x base':>8}{'ms':>9}{'x base':>8}")
    for operation, values in samples.items():
        gas = statistics.median(g for g, _ in values)
        ms = statistics.median(s for _, s in values) * 1000
        print(
            f"{operation:<26}{len(values):>4}{gas:>10.0f}{gas / baseline_gas:>8.2f}"
            f"{ms:>9.1f}{ms / baseline_ms:>8.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
