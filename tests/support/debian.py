"""Tools from Debian packages that some tests need (promtool, softhsm2-util): installed by the
test setup when it runs as root, otherwise the test is skipped with the reason stated."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest


def debian_tool(binary: str, package: str) -> str:
    """The path of `binary`, installing Debian's `package` first when missing and root."""
    found = shutil.which(binary)
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(f"{binary}: not installed; install Debian's {package} (needs root and apt)")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    installed = subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if installed.returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=environment, timeout=600, check=False)
        installed = subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package],
            env=environment,
            capture_output=True,
            text=True,
            timeout=600,
        )
    found = shutil.which(binary)
    if found is None:
        pytest.fail(f"{binary}: `apt-get install {package}` failed: {installed.stderr[-500:]}")
    return found
