"""The command table of `settle`: every listed command is registered by the module named for it,
`--help` and `--version` answer without importing the heavy parts, `--json` goes anywhere."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

import pytest

from entrypoints.cli import COMMANDS, _split_json, package_version


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_is_registered_by_the_module_the_table_names(name: str) -> None:
    module_name, summary = COMMANDS[name]
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers(dest="command")
    try:
        importlib.import_module(module_name).register(subparsers)
    except ModuleNotFoundError as error:
        pytest.skip(f"{module_name} is not installed in this build: {error}")
    assert name in subparsers.choices
    assert summary


def test_help_and_version_do_not_import_the_service() -> None:
    probe = (
        "import sys\n"
        "from entrypoints.cli import main\n"
        "for argv in (['--help'], ['--version']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = [m for m in ('web3', 'eventsourcing', 'fastapi', 'psycopg', 'rich') "
        "if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert "usage: settle" in done.stdout
    assert f"settle {package_version()}" in done.stdout
    assert "HEAVY []" in done.stdout


def test_json_is_accepted_before_or_after_the_command() -> None:
    assert _split_json(["--json", "balances"]) == (["balances"], True)
    after = _split_json(["balances", "--peer", "bob", "--json"])
    assert after == (["balances", "--peer", "bob"], True)
    assert _split_json(["balances"]) == (["balances"], False)
