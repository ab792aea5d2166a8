"""Running `settle` as a user does: a subprocess with its environment."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

Settle = Callable[..., subprocess.CompletedProcess[str]]


def run_settle(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SETTLE_")}
    environment.pop("DATABASE_URL", None)
    environment.update(env or {})
    return subprocess.run(
        [str(Path(sys.executable).parent / "settle"), *args],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def settle(database_url: str) -> Settle:
    """`settle` against this test's database."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run_settle(*args, env={"DATABASE_URL": database_url, **(env or {})})

    return run
