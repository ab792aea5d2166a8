"""A whole settlement on Anvil with node A's key in a SoftHSM2 token: the HSM signs every chain
transaction of A's (mint, approve, channel open, deposit) and the balance proof of the claim;
node B verifies and credits it, and the TokenNetwork accepts the same proof when B closes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.evm.balance_proof import BalanceProof
from adapters.evm.chains import connect_rpc
from application.clock import ManualClock
from application.processes.settlement_monitor import SettlementMonitor
from devtools.dev_chain import deploy_rails
from domain.channel import Channel
from domain.peer_account import Direction, PacketEntry, PeerAccount
from domain.settlement import SettlementStatus
from tests.integration.signing.conftest import SoftHsm
from tests.support.two_nodes import TOKEN_DECIMALS, USD, TestNode, befriend, start_node

pytest.importorskip("pkcs11", reason="python-pkcs11 is not installed (pip install .[keys-test])")

from adapters.signing.pkcs11_signer import Pkcs11Signer, generate_pkcs11_key

THRESHOLD = 5_000_000
RAIL = "hsm-rail"


@pytest.fixture
def nodes(
    softhsm: SoftHsm, anvil_url: str, database_url: str, database_url_b: str
) -> Iterator[tuple[TestNode, TestNode, Pkcs11Signer]]:
    web3 = connect_rpc(anvil_url, timeout_seconds=10)
    dev = deploy_rails(web3, [RAIL], token_decimals=TOKEN_DECIMALS, rpc_url=anvil_url)
    generate_pkcs11_key(softhsm.library, softhsm.token_label, softhsm.pin, "settles")
    hsm = Pkcs11Signer(softhsm.library, softhsm.token_label, "settles", softhsm.pin)
    clock = ManualClock()
    a = start_node("node-a", "node-b", database_url, web3, dev, clock, signer=hsm)
    b = start_node("node-b", "node-a", database_url_b, web3, dev, clock)
    try:
        befriend(a, b, [RAIL], THRESHOLD)
        yield a, b, hsm
    finally:
        a.close()
        b.close()
        hsm.close()


def test_a_settlement_completes_with_every_signature_of_the_payer_made_in_the_hsm(
    nodes: tuple[TestNode, TestNode, Pkcs11Signer],
) -> None:
    a, b, hsm = nodes
    a.node.runner(a.process.provisioner).catch_up()  # open + deposit, signed in the token
    amounts = [1_500_000] * 4
    out = [PacketEntry(f"p{i}", Direction.OUTGOING, n) for i, n in enumerate(amounts)]
    inc = [PacketEntry(f"p{i}", Direction.INCOMING, n) for i, n in enumerate(amounts)]
    a.node.app.record_packets(b.name, USD.code, "batch-1", out)
    b.node.app.record_packets(a.name, USD.code, "batch-1", inc)
    a.node.runner(SettlementMonitor(a.node.app, ManualClock())).catch_up()
    a.process.executor.run_until_settled()

    a.node.catch_up_read_models()
    [settlement] = a.node.read_side().all_settlements()
    assert settlement["status"] == SettlementStatus.COMPLETED.value
    paid = int(settlement["amount"])

    # The channel is the HSM address's on chain, and B credited the proof it signed.
    channel_id = a.node.app.settlement(settlement["settlement_id"]).channel_id
    assert channel_id is not None
    ours = a.node.app.load(channel_id, Channel)
    assert ours.our_address.lower() == hsm.address.lower()
    rail = b.process.rails[RAIL]
    assert rail.network.participant(ours.onchain_id or 0, hsm.address).deposit > 0
    at_b = b.node.app.load(PeerAccount.create_id(a.name, USD.code), PeerAccount)
    assert at_b.receivable == sum(amounts) - paid

    # The contract recovers the HSM's address from the same proof when B closes with it.
    proof = BalanceProof(ours.onchain_id or 0, ours.our_nonce, ours.our_transferred)
    signature = bytes.fromhex(ours.our_signature.removeprefix("0x"))
    rail.network.execute(rail.network.prepare_close(proof.channel_id, proof, signature))
    recorded = rail.network.participant(proof.channel_id, hsm.address)
    assert (recorded.nonce, recorded.transferred_amount) == (ours.our_nonce, ours.our_transferred)
