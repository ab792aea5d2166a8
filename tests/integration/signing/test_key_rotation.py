"""Rotation and the key-use record on a real event store: `settle keys rotate` changes the key of
new channels, open channels keep theirs, and a node lacking one refuses to start naming it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from eth_account import Account

from adapters.evm.settings import ChainSettings
from adapters.signing.node_keys import load_node_keys
from application.keys import ChannelKeyUnavailable
from bootstrap.node import Node, open_node
from bootstrap.settings import Settings
from domain.channel import Channel
from domain.key_audit import KeyUse
from entrypoints.cli import main
from projections.key_needs import channels_needing_keys

KEY_A, KEY_B = "0x" + "a1" * 32, "0x" + "b2" * 32
ADDRESS_A = Account.from_key(KEY_A).address
ADDRESS_B = Account.from_key(KEY_B).address


@pytest.fixture
def node(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Node]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("KEY_A", KEY_A)
    monkeypatch.setenv("KEY_B", KEY_B)
    with open_node(Settings(database_url=database_url)) as opened:
        yield opened


def _open_channel(node: Node, key: str, our_address: str) -> str:
    channel = Channel.request_open(
        key, "peer-" + key, "USD", 31337, Account.create().address, our_address,
        Account.create().address, 600,
    )  # fmt: skip
    node.app.create(channel)
    node.catch_up_read_models()
    return str(channel.id)


def _keys_list(capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, object]]:
    capsys.readouterr()
    assert main(["--json", "keys", "list"]) == 0
    return {row["key"]: row for row in json.loads(capsys.readouterr().out)}


def test_rotation_keeps_open_channels_on_their_key(
    node: Node, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "rotate", "env:KEY_A"]) == 0
    first_channel = _open_channel(node, "one", ADDRESS_A)
    assert main(["keys", "rotate", "env:KEY_B"]) == 0

    listed = _keys_list(capsys)
    assert listed["env:KEY_B"]["status"] == "active"
    assert listed["env:KEY_A"] == {
        "key": "env:KEY_A", "address": ADDRESS_A, "status": "kept for open channels",
        "open_channels": 1,
    }  # fmt: skip

    keys = load_node_keys(node.app, channels_needing_keys(node.pool), ChainSettings())
    assert keys.for_new_channels().address == ADDRESS_B
    assert keys.for_channel(ADDRESS_A).address == ADDRESS_A

    # Without KEY_A the node does not start, and says which channel needs it.
    with pytest.raises(ChannelKeyUnavailable, match=first_channel) as refused:
        load_node_keys(
            node.app, channels_needing_keys(node.pool), ChainSettings(), {"KEY_B": KEY_B}
        )
    assert [need.channel_id for need in refused.value.missing] == [first_channel]


def test_rotating_to_a_key_that_cannot_be_opened_changes_nothing(
    node: Node, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "rotate", "env:KEY_A"]) == 0
    assert main(["keys", "rotate", "env:ABSENT"]) == 2
    assert main(["keys", "rotate", "vault:x"]) == 2
    assert "reference" in capsys.readouterr().err
    assert list(_keys_list(capsys)) == ["env:KEY_A"]


def test_a_key_use_is_recorded_once_per_digest(node: Node) -> None:
    digest = "0x" + "5e" * 32
    assert node.app.record_key_use("env:KEY_A", ADDRESS_A, "transaction", digest)
    assert not node.app.record_key_use("env:KEY_A", ADDRESS_A, "transaction", digest)
    use = node.app.load(KeyUse.create_id("env:KEY_A", "transaction", digest), KeyUse)
    assert (use.address, use.purpose, use.digest) == (ADDRESS_A.lower(), "transaction", digest)
