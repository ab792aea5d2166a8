"""Funds a node's key on a development chain: ether for gas from the chain's first unlocked
account (Anvil and eth-tester have them), and test tokens minted by the key itself (TestToken
lets anyone mint). Prints the key's address, so a shell can keep it. Development chains only.

    NODE_A_ADDRESS=$(python -m devtools.fund_key --rpc-url http://127.0.0.1:8545 \\
        --token 0x5FbDB2315678afecb367f032d93F642f64180aa3 --key-env NODE_A_KEY --tokens 1000)

The key is read from the variable named by --key-env (never from the command line, so it stays
out of shell history and process lists); errors name the variable, never the key.
"""

from __future__ import annotations

import argparse
import sys

from web3 import Web3

from adapters.evm.chains import connect_rpc, fund_from_development_account
from adapters.evm.errors import EvmError
from adapters.evm.token import TokenClient
from adapters.evm.transactions import NonceManager, TransactionSender
from adapters.signing import LocalKeySigner, SignerUnavailable

_ADDRESS_CHARS = 42


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Give a key ether and test tokens on a development chain; print its address."
    )
    parser.add_argument("--rpc-url", required=True, help="JSON-RPC URL of the development chain")
    parser.add_argument("--token", required=True, help="TestToken address (deploy_contracts)")
    parser.add_argument(
        "--key-env", default="SETTLE_CHAIN_PRIVATE_KEY", help="variable holding the hex key"
    )
    parser.add_argument("--ether", type=int, default=100, help="whole ether for gas")
    parser.add_argument("--tokens", type=int, default=1_000, help="whole test tokens to mint")
    parser.add_argument("--timeout-seconds", type=float, default=10.0, help="RPC timeout")
    args = parser.parse_args(argv)
    if not (args.token.startswith("0x") and len(args.token) == _ADDRESS_CHARS):
        print(f"--token: {args.token!r} is not a 0x-prefixed 20-byte address", file=sys.stderr)
        return 2
    if args.ether < 0 or args.tokens < 0:
        print("--ether and --tokens must not be negative", file=sys.stderr)
        return 2
    try:
        signer = LocalKeySigner.from_env(args.key_env)
        web3 = connect_rpc(args.rpc_url, args.timeout_seconds)
        balance = fund(web3, signer, Web3.to_checksum_address(args.token), args.ether, args.tokens)
    except SignerUnavailable as error:
        print(error, file=sys.stderr)
        return 2
    except (EvmError, ValueError) as error:
        print(f"{args.rpc_url}: {error}", file=sys.stderr)
        return 1
    summary = f"{signer.address}: +{args.ether} ether, +{args.tokens} tokens ({balance} base units)"
    print(summary, file=sys.stderr)
    print(signer.address)
    return 0


def fund(web3: Web3, signer: LocalKeySigner, token: str, ether: int, tokens: int) -> int:
    """`ether` whole ether from the chain's development account, then `tokens` whole tokens
    minted to the key (at the token's own decimals); returns the key's token balance."""
    if ether:
        fund_from_development_account(web3, signer.address, ether * 10**18)
    sender = TransactionSender(web3, signer, NonceManager(), poll_interval_seconds=0.05)
    client = TokenClient(sender, token)
    if tokens:
        signed = client.prepare_mint(signer.address, tokens * 10 ** client.decimals())
        sender.broadcast(signed)
        sender.wait_confirmed(signed.tx_hash, 0, 60)
    return client.balance_of(signer.address)


if __name__ == "__main__":
    raise SystemExit(main())
