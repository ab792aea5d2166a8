"""A settlement process that records a signed deposit, maybe broadcasts it, then hangs until
the test SIGKILLs it. Run as a script: url token_network out_dir channel_id total record phase;
the key comes from the CRASH_KEY environment variable."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from web3 import Web3

from adapters.evm.token_network import TokenNetworkClient
from adapters.evm.transactions import NonceManager, TransactionSender
from adapters.signing import LocalKeySigner


def main() -> None:
    url, network_address, out_dir, channel_id, total, record, phase = sys.argv[1:8]
    sender = TransactionSender(
        Web3(Web3.HTTPProvider(url)), LocalKeySigner.from_env("CRASH_KEY"), NonceManager()
    )
    network = TokenNetworkClient(sender, network_address, confirmations=0, out_dir=Path(out_dir))
    signed = network.prepare_set_total_deposit(int(channel_id), int(total))
    # The record is written (and synced) before anything is broadcast, as the event store would.
    temporary = Path(record + ".tmp")
    temporary.write_text(json.dumps(signed.to_record()))
    with temporary.open("rb") as file:
        os.fsync(file.fileno())
    if phase == "after-broadcast":
        sender.broadcast(signed)
    os.replace(temporary, record)
    while True:  # waiting for a receipt that this process will never see
        time.sleep(1)


if __name__ == "__main__":
    main()
