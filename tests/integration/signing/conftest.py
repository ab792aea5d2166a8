"""Fixtures of the signing tests: a SoftHSM2 token initialised in a temporary directory."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.debian import debian_tool

USER_PIN = "5678"
TOKEN_LABEL = "settle-test"
_PINS = ["--so-pin", "1234", "--pin", USER_PIN]


@dataclass(frozen=True)
class SoftHsm:
    library: Path
    token_label: str
    pin: str


def _library() -> Path:
    for candidate in (
        "/usr/lib/softhsm/libsofthsm2.so",
        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    ):
        if Path(candidate).exists():
            return Path(candidate)
    pytest.skip("libsofthsm2.so not found after installing softhsm2")


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsm]:
    """One token for the session: SoftHSM2 reads SOFTHSM2_CONF once per process, when the
    library is first initialised, so tests share the token and use their own key labels."""
    directory = tmp_path_factory.mktemp("softhsm")
    pytest.importorskip("pkcs11", reason="python-pkcs11 is not installed")
    util = debian_tool("softhsm2-util", "softhsm2")
    (directory / "tokens").mkdir()
    config = directory / "softhsm2.conf"
    config.write_text(
        f"directories.tokendir = {directory / 'tokens'}\nobjectstore.backend = file\n"
        "log.level = ERROR\n",
        encoding="utf-8",
    )
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(config)
    try:
        subprocess.run(
            [util, "--init-token", "--free", "--label", TOKEN_LABEL, *_PINS],
            check=True,
            capture_output=True,
            timeout=60,
        )
        yield SoftHsm(_library(), TOKEN_LABEL, USER_PIN)
    finally:
        if previous is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = previous
