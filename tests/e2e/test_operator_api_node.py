"""The operator's chain routes on `settle run` itself, two instances on one database: the leader's
API shows its live rails and closes a channel on Anvil; the standby's names the leader; the CLI
refuses to send while the node leads, pointing at the route; the node's own dispute pass and the
settle route agree on the payout."""

from __future__ import annotations

import json
import re
from pathlib import Path
from uuid import UUID

import pytest
from web3 import Web3

from adapters.evm.chains import advance_time
from devtools.dev_chain import DevelopmentRails
from entrypoints.http.api.auth import token_sha256
from entrypoints.http.client import ApiClient, ApiError
from tests.e2e.conftest import Settle
from tests.e2e.test_cli_operator import RAIL, paid_channel  # noqa: F401 - the fixture
from tests.e2e.test_cli_operator_node import chain_env
from tests.support.node_process import NodeProcess, node_environment, wait_until
from tests.support.two_nodes import TOKEN, TestNode

OPS = "tok-ops"


def _api_url(node: NodeProcess) -> str | None:
    found = re.findall(r'"event": "http api listening"[^\n]*"url": "([^"]+)"', node.log_text())
    return found[0] if found else None


def test_the_leaders_api_closes_and_the_standbys_names_the_leader(
    paid_channel: tuple[Web3, DevelopmentRails, TestNode],  # noqa: F811
    anvil_url: str,
    database_url: str,
    settle: Settle,
    tmp_path: Path,
) -> None:
    web3, dev, us = paid_channel
    us.node.catch_up_read_models()
    channel_id = str(us.node.read_side().all_channels(None)[0]["channel_id"])
    clients = {"ops": {"token_sha256": token_sha256(OPS), "scopes": ["operator", "read"]}}
    cli_env = chain_env(web3, dev, us, anvil_url)
    base = node_environment(
        {
            **cli_env,
            "DATABASE_URL": database_url,
            "SETTLE_API__CLIENTS": json.dumps(clients),
            "SETTLE_CLAIMS__TOKENS": json.dumps({"node-b": TOKEN}),
        }
    )
    leader = NodeProcess({**base, "SETTLE_NODE_ID": "node-a"}, tmp_path / "a.log").start()
    standby = NodeProcess({**base, "SETTLE_NODE_ID": "node-a2"}, tmp_path / "a2.log")
    try:
        wait_until(lambda: bool(leader.acquired_epochs()), 120, "node-a leads", leader)
        standby.start()
        wait_until(lambda: _api_url(standby) is not None, 120, "the standby's API", standby)
        with (
            ApiClient(str(_api_url(leader)), OPS, timeout=120) as at_leader,
            ApiClient(str(_api_url(standby)), OPS, timeout=120) as at_standby,
        ):
            rails = at_leader.rails()
            with pytest.raises(ApiError) as refused:
                at_standby.close_channel(channel_id, "from the standby")
            closed = at_leader.close_channel(channel_id, "partner retired")
            cli = settle("channel", "settle", channel_id, env=cli_env)
            with pytest.raises(ApiError) as too_soon:
                at_leader.settle_channel(channel_id)
            advance_time(web3, 3600)
            # The leader's own dispute pass settles it once the period is over; the route
            # then reports the payout it recorded.
            wait_until(
                lambda: us.node.app.channel(UUID(channel_id)).state == "settled",
                120,
                "the leader's dispute pass settles the channel",
                leader,
            )
            settled = at_leader.settle_channel(channel_id)
        assert standby.acquired_epochs() == []
    finally:
        standby.stop()
        leader.stop()
    [rail] = rails["rails"]
    assert (rails["node_id"], rails["leading"], rail["name"]) == ("node-a", True, RAIL)
    assert rail["breaker"] == "closed" and rail["score"] is not None
    assert refused.value.status == 409 and "'node-a' leads" in refused.value.problem["detail"]
    assert closed["state"] == "closed" and closed["tx_hash"]
    assert cli.returncode == 2 and "node 'node-a' leads" in cli.stderr
    assert f"POST /v1/operator/channels/{channel_id}/settle" in cli.stderr
    assert too_soon.value.status == 409 and "challenge period" in too_soon.value.problem["detail"]
    assert settled["state"] == "settled" and settled["our_amount"] is not None
