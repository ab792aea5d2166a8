"""Loads compiled contracts (ABI and bytecode) from Forge's output directory, contracts/out/."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BUILD_COMMAND = "scripts/build-contracts"


def default_out_dir() -> Path:
    """contracts/out/ of the repository this package is installed from (editable install)."""
    return Path(__file__).resolve().parents[2] / "contracts" / "out"


class ArtifactMissing(Exception):
    """The compiled contract is not there: the build step has not run."""

    def __init__(self, contract: str, path: Path) -> None:
        self.contract = contract
        self.path = path
        super().__init__(
            f"compiled contract {contract} not found at {path}; run `{BUILD_COMMAND}` "
            "in the repository root to compile contracts/"
        )


@dataclass(frozen=True)
class ContractArtifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str


def load_artifact(contract: str, out_dir: Path | None = None) -> ContractArtifact:
    """Reads contracts/out/<Contract>.sol/<Contract>.json as Forge writes it."""
    path = (out_dir or default_out_dir()) / f"{contract}.sol" / f"{contract}.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactMissing(contract, path) from None
    bytecode = document.get("bytecode", {}).get("object", "")
    if not bytecode or bytecode == "0x":
        raise ArtifactMissing(contract, path)
    return ContractArtifact(name=contract, abi=document["abi"], bytecode=bytecode)
