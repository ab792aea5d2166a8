"""The chain's encoding: the fast event hash, its canonical JSON definition and the auditor's
standalone verifier agree; the verifier catches each kind of change to an export."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections.event_chain import GENESIS, canonical_json, chain_hash, event_hash


def _load_verifier() -> ModuleType:
    path = Path(__file__).resolve().parents[3] / "tools" / "verify_export.py"
    spec = importlib.util.spec_from_file_location("verify_export", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


verifier = _load_verifier()


@given(
    position=st.integers(1, 2**62),
    originator_id=st.uuids(),
    version=st.integers(1, 2**40),
    topic=st.text(max_size=40),
    state=st.binary(max_size=200),
)
def test_the_fast_hash_is_the_documented_canonical_json_and_the_verifiers(
    position: int, originator_id: UUID, version: int, topic: str, state: bytes
) -> None:
    documented = hashlib.sha256(
        canonical_json(
            {
                "originator_id": str(originator_id),
                "originator_version": version,
                "position": position,
                "state_sha256": hashlib.sha256(state).hexdigest(),
                "topic": topic,
            }
        )
    ).digest()
    assert event_hash(position, originator_id, version, topic, state) == documented
    assert verifier.event_hash(position, str(originator_id), version, topic, state) == documented


def _export(path: Path, count: int = 4) -> list[dict[str, object]]:
    records: list[dict[str, object]] = [
        {"kind": "start", "position": 0, "chain_hash": GENESIS.hex()}
    ]
    previous = GENESIS
    for position in range(1, count + 1):
        oid, state = f"00000000-0000-0000-0000-00000000000{position}", b'{"n":%d}' % position
        this = event_hash(position, oid, 1, "t:E", state)
        previous = chain_hash(previous, this)
        records.append(
            {
                "kind": "event",
                "position": position,
                "originator_id": oid,
                "originator_version": 1,
                "topic": "t:E",
                "state_b64": base64.b64encode(state).decode(),
                "event_hash": this.hex(),
                "chain_hash": previous.hex(),
            }
        )
    records.append({"kind": "head", "position": count, "chain_hash": previous.hex()})
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return records


def _rewrite(path: Path, records: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def test_the_verifier_accepts_a_whole_export_and_names_the_first_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    records = _export(path)
    assert verifier.main([str(path)]) == 0
    assert verifier.main([str(path), "--head", str(records[-1]["chain_hash"])]) == 0

    records[2]["originator_version"] = 2  # an edited event
    _rewrite(path, records)
    assert verifier.main([str(path)]) == 1

    records = _export(path)
    records[2], records[3] = records[3], records[2]  # two lines swapped
    _rewrite(path, records)
    assert verifier.main([str(path)]) == 1

    records = _export(path)
    del records[2]  # a line dropped: the next link no longer follows
    _rewrite(path, records)
    assert verifier.main([str(path)]) == 1

    records = _export(path)
    redacted = {k: records[2][k] for k in ("position", "event_hash", "chain_hash")}
    records[2] = {"kind": "redacted", **redacted}  # redaction keeps the chain checkable
    _rewrite(path, records)
    assert verifier.main([str(path)]) == 0
    assert verifier.main([str(path), "--head", "00" * 32]) == 1


def test_the_verifier_reports_the_line_and_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "e.jsonl"
    records = _export(path)
    records[3]["state_b64"] = base64.b64encode(b'{"n":99}').decode()
    _rewrite(path, records)
    assert verifier.main([str(path)]) == 1
    assert "line 4: position 3: event content does not match" in capsys.readouterr().out
