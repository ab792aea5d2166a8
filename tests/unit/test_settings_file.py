"""Settings from a TOML file as well as the environment (the environment wins), one-line errors
naming the variable for values that are not JSON, unknown SETTLE_ variables found, `settle init`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bootstrap.settings import ConfigurationError, load_settings, unknown_variables


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in list(__import__("os").environ):
        if name.startswith("SETTLE_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    return tmp_path


def test_the_file_is_read_and_the_environment_wins(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (in_tmp / "settle.toml").write_text('node_id = "from-file"\n[api]\nport = 9001\n')
    settings = load_settings()
    assert (settings.node_id, settings.api.port) == ("from-file", 9001)
    monkeypatch.setenv("SETTLE_API__PORT", "9100")
    assert load_settings().api.port == 9100


def test_a_named_file_that_is_missing_or_malformed_is_a_configuration_error(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SETTLE_CONFIG_FILE", str(in_tmp / "absent.toml"))
    with pytest.raises(ConfigurationError, match="SETTLE_CONFIG_FILE"):
        load_settings()
    (in_tmp / "bad.toml").write_text("node_id = \n")
    monkeypatch.setenv("SETTLE_CONFIG_FILE", str(in_tmp / "bad.toml"))
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        load_settings()


@pytest.mark.parametrize("name", ["SETTLE_RAILS", "SETTLE_CLAIMS__TOKENS"])
def test_a_value_that_is_not_json_names_its_variable(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, "not json")
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert raised.value.setting.startswith(name.split("__")[0])


def test_unknown_settle_variables_are_found_and_known_ones_are_not() -> None:
    environ = {
        "SETTLE_NODE_ID": "a",
        "SETTLE_LEDGER__BACKEND": "postgres",
        "SETTLE_CHAIN_PRIVATE_KEY": "0x..",
        "SETTLE_NODEID": "typo",
        "SETTLE_LEGDER__BACKEND": "typo",
        "OTHER": "x",
    }
    assert unknown_variables(environ) == ["SETTLE_LEGDER__BACKEND", "SETTLE_NODEID"]


def test_init_writes_a_file_that_settle_reads_and_refuses_to_overwrite(in_tmp: Path) -> None:
    settle = [sys.executable, "-m", "entrypoints.cli"]
    args = ["init", "--node-id", "node-b", "--api-port", "9001"]
    first = subprocess.run(settle + args, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert first.returncode == 0, first.stderr
    assert load_settings().node_id == "node-b" and load_settings().api.port == 9001
    again = subprocess.run(settle + args, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert again.returncode == 2 and "--force" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
