"""Deploys the development contracts (TestToken + TokenNetwork) to a node and prints their
addresses as JSON. Development chains only.

    python -m devtools.deploy_contracts --rpc-url http://127.0.0.1:8545 [--token-decimals 6]

`--format env` prints them as shell variables instead (CHAIN_ID, TOKEN, TOKEN_NETWORK, DEPLOYER),
for `set -a; . file; set +a` (docs/getting-started.md).

The deployer key is read from the variable named by --key-env (default SETTLE_CHAIN_PRIVATE_KEY).
From a fresh Anvil with its first development key, the addresses are always the same:
TestToken 0x5FbDB2315678afecb367f032d93F642f64180aa3 and TokenNetwork
0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512 (nonces 0 and 1).
"""

from __future__ import annotations

import argparse
import json
import sys

from adapters.evm.artifacts import ArtifactMissing
from adapters.evm.chains import connect_rpc, deploy_development
from adapters.evm.errors import EvmError
from adapters.evm.transactions import NonceManager, TransactionSender
from adapters.signing import LocalKeySigner, SignerUnavailable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Deploy development TestToken + TokenNetwork.")
    parser.add_argument("--rpc-url", required=True)
    parser.add_argument("--key-env", default="SETTLE_CHAIN_PRIVATE_KEY")
    parser.add_argument("--token-decimals", type=int, default=18)
    parser.add_argument("--settle-timeout-min", type=int, default=60)
    parser.add_argument("--settle-timeout-max", type=int, default=30 * 24 * 3600)
    parser.add_argument("--timeout-seconds", type=float, default=10.0)
    parser.add_argument("--format", choices=("json", "env"), default="json")
    args = parser.parse_args(argv)
    try:
        signer = LocalKeySigner.from_env(args.key_env)
        web3 = connect_rpc(args.rpc_url, args.timeout_seconds)
        sender = TransactionSender(web3, signer, NonceManager(), endpoint=args.rpc_url)
        contracts = deploy_development(
            sender, args.token_decimals, args.settle_timeout_min, args.settle_timeout_max
        )
    except (SignerUnavailable, ArtifactMissing) as error:
        print(error, file=sys.stderr)
        return 2
    except EvmError as error:
        print(error, file=sys.stderr)
        return 1
    document = {
        "chain_id": sender.chain_id,
        "token": contracts.token,
        "token_network": contracts.token_network,
        "deployer": signer.address,
    }
    if args.format == "env":
        print("\n".join(f"{name.upper()}={value}" for name, value in document.items()))
    else:
        print(json.dumps(document))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
