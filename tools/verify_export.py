#!/usr/bin/env python3
"""Checks a settlement-ledger audit export on its own: `verify_export.py EXPORT [--head HASH]`.

Standard library only, so an auditor can read and run it anywhere. It recomputes, record by
record, each event's hash from its content and each chain hash from the previous one (the
algorithm `settlement-ledger-chain-v1`, described in docs/audit.md), starting from the export's
`start` record. With --head, the last chain hash must also equal a head obtained independently
(an anchor). Exit 0 when the export holds, 1 naming the first bad line, 2 when it can't be read.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import csv
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ALGORITHM = "settlement-ledger-chain-v1"


class ExportError(Exception):
    def __init__(self, line: int, problem: str) -> None:
        self.line = line
        self.problem = problem
        super().__init__(f"line {line}: {problem}")


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def event_hash(position: int, originator_id: str, version: int, topic: str, state: bytes) -> bytes:
    return hashlib.sha256(
        canonical_json(
            {
                "originator_id": originator_id,
                "originator_version": version,
                "position": position,
                "state_sha256": hashlib.sha256(state).hexdigest(),
                "topic": topic,
            }
        )
    ).digest()


def read_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) for JSON lines or CSV; CSV empty cells read as absent."""
    with path.open(newline="") as handle:
        first = handle.read(1)
        handle.seek(0)
        if first == "{":
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        yield number, json.loads(line)
                    except json.JSONDecodeError as error:
                        raise ExportError(number, f"not JSON: {error.msg}") from None
            return
        for number, row in enumerate(csv.DictReader(handle), start=2):
            yield number, {k: v for k, v in row.items() if v not in ("", None)}


def _hex(record: dict[str, Any], field: str, line: int) -> bytes:
    try:
        value = bytes.fromhex(str(record[field]))
    except (KeyError, ValueError):
        raise ExportError(line, f"{field} is missing or not hex") from None
    if len(value) != 32:
        raise ExportError(line, f"{field} is not 32 bytes")
    return value


def _content_hash(record: dict[str, Any], line: int) -> bytes:
    try:
        state = base64.b64decode(record["state_b64"], validate=True)
        return event_hash(
            int(record["position"]),
            str(record["originator_id"]),
            int(record["originator_version"]),
            str(record["topic"]),
            state,
        )
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise ExportError(line, "event content is missing or malformed") from None


def verify(path: Path, head: bytes | None = None) -> tuple[int, int, bytes]:
    """Checks the export; returns (events checked in full, redacted, last chain hash)."""
    previous: bytes | None = None
    last_position = -1
    full = redacted = 0
    for line, record in read_records(path):
        kind = record.get("kind")
        if kind == "start":
            if previous is not None:
                raise ExportError(line, "a second start record")
            if record.get("algorithm", ALGORITHM) != ALGORITHM:
                raise ExportError(line, f"unknown algorithm {record.get('algorithm')!r}")
            previous = _hex(record, "chain_hash", line)
            last_position = int(record["position"])
            continue
        if kind == "head":
            continue  # the log's head when exported: informational, checked with --head
        if kind not in ("event", "redacted"):
            raise ExportError(line, f"unknown record kind {kind!r}")
        if previous is None:
            raise ExportError(line, "an event before the start record")
        position = int(record["position"])
        if position <= last_position:
            raise ExportError(line, f"position {position} is out of order")
        stated = _hex(record, "event_hash", line)
        if kind == "event":
            if _content_hash(record, line) != stated:
                raise ExportError(line, f"position {position}: event content does not match")
            full += 1
        else:
            redacted += 1
        previous = hashlib.sha256(previous + stated).digest()
        if previous != _hex(record, "chain_hash", line):
            raise ExportError(line, f"position {position}: chain hash does not follow")
        last_position = position
    if previous is None:
        raise ExportError(0, "no start record")
    if head is not None and previous != head:
        raise ExportError(0, "the last chain hash differs from the head given with --head")
    return full, redacted, previous


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", type=Path, help="a file written by `settle export`")
    parser.add_argument("--head", help="expected last chain hash (hex), e.g. from an anchor")
    args = parser.parse_args(argv)
    try:
        head = bytes.fromhex(args.head) if args.head else None
    except ValueError:
        print("verify_export: --head is not hex", file=sys.stderr)
        return 2
    try:
        full, redacted, last = verify(args.export, head)
    except OSError as error:
        print(f"verify_export: cannot read {args.export}: {error.strerror}", file=sys.stderr)
        return 2
    except ExportError as error:
        print(f"verify_export: FAILED: {error}")
        return 1
    print(f"verify_export: OK: {full} events checked, {redacted} redacted; last {last.hex()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
