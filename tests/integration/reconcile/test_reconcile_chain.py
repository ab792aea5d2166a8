"""The chain vs the books on a TokenNetwork shared with strangers: other participants' channels
are accounted for from the contract's own logs, tokens the logs do not explain are named, and a
channel with our address that the books do not know is found by scanning the logs."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from web3 import Web3

from adapters.evm.artifacts import default_out_dir
from adapters.evm.chains import advance_time
from adapters.evm.transactions import NonceManager
from application.clock import ManualClock
from devtools.dev_chain import DevelopmentRails
from tests.e2e.conftest import run_settle
from tests.integration.reconcile.conftest import RAIL, only, reconcile
from tests.support.evm_rail import SETTLE_TIMEOUT, Participant, new_participant
from tests.support.two_nodes import TestNode


def stranger(chain: tuple[Web3, DevelopmentRails]) -> Participant:
    """A funded account on the nodes' token network that neither node has heard of."""
    web3, dev = chain
    [rail] = dev.rails
    assert rail.token is not None and rail.token_network is not None
    return new_participant(web3, NonceManager(), rail.token, rail.token_network, default_out_dir())


def open_and_deposit(opener: Participant, partner: str, deposit: int) -> int:
    network = opener.network
    opened = network.execute(network.prepare_open_channel(partner, SETTLE_TIMEOUT))
    onchain_id = network.channel_id_from(opened)
    assert network.execute(network.prepare_set_total_deposit(onchain_id, deposit)).succeeded
    return onchain_id


def settle_reconcile(
    node: TestNode, chain: tuple[Web3, DevelopmentRails], anvil_url: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """`settle --json reconcile --check chain` as cron runs it, with the node's key and rails."""
    web3, dev = chain
    env = {
        "DATABASE_URL": node.node.database_url,
        "SETTLE_NODE_ID": node.name,
        "SETTLE_CHAIN__BACKEND": "rpc",
        "SETTLE_CHAIN__RPC_URL": anvil_url,
        "SETTLE_CHAIN__CHAIN_ID": str(web3.eth.chain_id),
        "SETTLE_CHAIN__CONFIRMATIONS": "0",
        "SETTLE_CHAIN_PRIVATE_KEY": "0x" + node.signer._account.key.hex(),  # type: ignore[attr-defined]
        "SETTLE_RAILS": json.dumps({"rails": [r.model_dump() for r in dev.rails]}),
    }
    result = run_settle("--json", "reconcile", "--check", "chain", env=env, timeout=120)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return result, report


def test_other_participants_channels_on_the_same_token_network_are_no_difference(
    chain: tuple[Web3, DevelopmentRails],
    settled: tuple[TestNode, TestNode, ManualClock],
) -> None:
    a, b, clock = settled
    web3, _dev = chain
    carol, dave, erin = stranger(chain), stranger(chain), stranger(chain)
    settling = open_and_deposit(carol, dave.address, 300_000)
    assert dave.network.execute(dave.network.prepare_set_total_deposit(settling, 70_000)).succeeded
    open_and_deposit(erin, carol.address, 5_000)  # stays open, its deposit in escrow
    # Carol and Dave's channel is closed and settled: its payout leaves the escrow, as its
    # ChannelSettled log says.
    assert carol.network.execute(carol.network.prepare_close(settling, None)).succeeded
    advance_time(web3, SETTLE_TIMEOUT + 1)
    assert carol.network.execute(carol.network.prepare_settle(settling)).succeeded
    for node in (a, b):
        report = reconcile(node, clock, checks=["chain"])
        assert report.differences == [], report.as_dict()
        assert report.exit_code == 0


def test_tokens_the_logs_do_not_explain_are_an_escrow_difference(
    chain: tuple[Web3, DevelopmentRails],
    settled: tuple[TestNode, TestNode, ManualClock],
) -> None:
    a, _b, clock = settled
    carol = stranger(chain)
    rail = a.process.rails[RAIL]
    # Tokens minted straight to the contract: in its balance, in no deposit log.
    carol.network.execute(carol.token.prepare_mint(rail.token_network, 4_242))
    report = reconcile(a, clock, checks=["chain"])
    [difference] = only(report, "chain")
    assert difference.subject == f"token network {rail.token_network}"
    assert (difference.field, difference.amount) == ("escrow_balance", 4_242)
    assert difference.actual - difference.books == 4_242
    assert report.exit_code == 1


def test_a_channel_with_our_address_unknown_to_the_books_is_named_with_its_partner(
    chain: tuple[Web3, DevelopmentRails],
    settled: tuple[TestNode, TestNode, ManualClock],
    anvil_url: str,
) -> None:
    a, _b, clock = settled
    rail = a.process.rails[RAIL]
    our_address = str(rail.network.our_address)
    clean, report = settle_reconcile(a, chain, anvil_url)
    assert clean.returncode == 0 and report["differences"] == [], report
    assert report["checked"] == {"chain": 0}
    carol = stranger(chain)
    onchain_id = open_and_deposit(carol, our_address, 250_000)

    # Not yet read by A's chain sync: the books cannot know it yet, so it is no difference.
    assert only(reconcile(a, clock, checks=["chain"]), "chain") == []

    # The sync reads past it and passes over it (carol is no registered peer): now it is.
    a.process.sync_chain()
    report = reconcile(a, clock, checks=["chain"])
    by_field = {d.field: d for d in only(report, "chain")}
    assert set(by_field) == {"channel", "our_escrow"}, report.as_dict()
    unknown = by_field["channel"]
    assert unknown.subject == f"on-chain channel {onchain_id} with {carol.address}"
    assert (unknown.books, unknown.actual, unknown.amount) == ("absent", "opened", 250_000)
    assert carol.address in unknown.detail and rail.token_network in unknown.detail
    assert by_field["our_escrow"].amount == 250_000
    assert report.exit_code == 1

    found, as_json = settle_reconcile(a, chain, anvil_url)
    assert found.returncode == 1
    named = [d for d in as_json["differences"] if d["field"] == "channel"]
    assert [(d["subject"], d["amount"]) for d in named] == [(unknown.subject, 250_000)]
