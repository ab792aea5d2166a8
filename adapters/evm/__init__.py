"""The EVM rail: TokenNetwork contracts through web3.py (tx building, proofs, watcher)."""
