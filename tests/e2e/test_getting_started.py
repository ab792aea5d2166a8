"""docs/getting-started.md, run as written: its shell blocks in order (Anvil, the contracts, two
funded keys, two `settle init` configurations, peers, two `settle run` nodes, packets, the
settlement, history, replay, reconcile), then both nodes' books checked through `settle --json`.
Only the variables the guide lets a reader preset are given: free ports, a temporary work
directory, and two empty databases on the session's embedded PostgreSQL (faster than a server
per node, and the guide's commands are the same either way)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.postgres.embedded import EmbeddedPostgres, drop_database, ensure_database
from devtools.processes import free_port
from tests.support.guide import GuideError, GuideSession, shell_blocks

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "getting-started.md"
PAID, LEFT = 5_000_000, 1_000_000  # the guide: 6 USD of packets, threshold 5, settle-to 1
TOKEN_UNITS = 10**12  # 18-decimal token base units per minor unit of USD at scale 6


@pytest.fixture
def two_empty_databases(pg_server: EmbeddedPostgres) -> Iterator[tuple[str, str]]:
    admin = pg_server.url("postgres")
    names = [f"guide_{node}_{os.getpid()}" for node in ("a", "b")]
    for name in names:
        ensure_database(admin, name)
    try:
        yield pg_server.url(names[0]), pg_server.url(names[1])
    finally:
        for name in names:
            drop_database(admin, name)


@pytest.mark.slow(150)
def test_the_guide_runs_as_written_and_both_books_agree(
    two_empty_databases: tuple[str, str], tmp_path: Path
) -> None:
    blocks = shell_blocks(GUIDE.read_text(encoding="utf-8"))
    assert sum(b.background for b in blocks) == 3  # Anvil and two nodes
    env = {k: v for k, v in os.environ.items() if not k.startswith("SETTLE_")}
    env.pop("DATABASE_URL", None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(
        {
            "WORK": str(tmp_path / "work"),
            "COLUMNS": "80",  # the tables people read fit 80 columns
            "NODE_A_DB": two_empty_databases[0],
            "NODE_B_DB": two_empty_databases[1],
            **{
                name: str(free_port())
                for name in (
                    "ANVIL_PORT",
                    "NODE_A_API_PORT",
                    "NODE_A_CLAIMS_PORT",
                    "NODE_B_API_PORT",
                    "NODE_B_CLAIMS_PORT",
                )
            },
        }
    )
    session = GuideSession(REPO, env, tmp_path / "logs")
    try:
        session.run_all(blocks)
        for block, seconds in session.seconds:  # shown with -s or on failure
            print(f"line {block.line}: {seconds:.1f} s")
        a, b = (Path(session.env[name]) for name in ("NODE_A", "NODE_B"))

        def settle(node: Path, *args: str) -> Any:
            result = subprocess.run(
                ["settle", *args, "--json"],
                cwd=node,
                env=session.env,
                capture_output=True,
                text=True,
                timeout=120,
                stdin=subprocess.DEVNULL,
            )
            assert result.returncode == 0, f"settle {' '.join(args)}:\n{result.stderr}"
            return json.loads(result.stdout.strip().splitlines()[-1])

        [settlement] = settle(a, "settlements")
        assert (settlement["status"], int(settlement["amount"])) == ("completed", PAID)
        [a_account] = settle(a, "balances")
        [b_account] = settle(b, "balances")
        assert (a_account["peer_id"], b_account["peer_id"]) == ("node-b", "node-a")
        assert (int(a_account["payable"]), int(a_account["in_flight"])) == (LEFT, 0)
        assert int(b_account["receivable"]) == LEFT  # 6 USD incoming, 5 USD of it paid
        [b_channel] = [c for c in settle(b, "channels") if c["state"] == "opened"]
        assert int(b_channel["partner_transferred"]) == PAID * TOKEN_UNITS  # A's proof, on B
    finally:
        codes = session.stop_all()
    assert codes[1:] == [0, 0]  # both nodes stopped cleanly on SIGTERM


def test_every_bash_block_of_a_guide_must_be_marked_to_run() -> None:
    marked = '<!-- run: until "ok" -->\n```bash\necho ok\n```\n'
    [block] = shell_blocks("# Guide\n\n" + marked + "\n```text\nnot run\n```\n")
    assert (block.code, block.until, block.background) == ("echo ok", "ok", False)
    with pytest.raises(GuideError, match="line 6: a bash block without"):
        shell_blocks(marked + "\n```bash\nrm -rf somewhere\n```\n")
