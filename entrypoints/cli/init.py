"""`settle init`: writes a starting `settle.toml` — asked question by question on a terminal,
from flags otherwise — that `settle` then reads (the environment still wins over it)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from entrypoints.cli.output import EXIT_OK, EXIT_USAGE, fail

_QUESTIONS = [
    ("node_id", "node id (how peers know this node)", "node-a"),
    ("database_url", "PostgreSQL URL (blank: an embedded server under ./var)", ""),
    ("api_port", "HTTP API port", "8080"),
    ("claims_port", "port peers deliver claims to", "8081"),
]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("init", help="write a starting configuration file (settle.toml)")
    p.add_argument("--output", type=Path, default=Path("settle.toml"), help="file to write")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.add_argument("--node-id", help="how peers know this node (default node-a)")
    p.add_argument("--database-url", help="PostgreSQL URL (default: embedded under ./var)")
    p.add_argument("--api-port", type=int, help="HTTP API port (default 8080)")
    p.add_argument("--claims-port", type=int, help="port peers deliver claims to (default 8081)")
    p.set_defaults(handler=cmd_init)


def cmd_init(args: argparse.Namespace) -> int:
    if args.output.exists() and not args.force:
        return fail(f"--output: {args.output} exists; use --force to overwrite it", EXIT_USAGE)
    answers = _answers(args, interactive=sys.stdin.isatty())
    for port in ("api_port", "claims_port"):
        if not answers[port].isdigit() or not 0 < int(answers[port]) < 65536:
            return fail(f"--{port.replace('_', '-')}: {answers[port]!r} is not a port", EXIT_USAGE)
    if "\n" in answers["node_id"] or not answers["node_id"].strip():
        return fail("--node-id: must be a non-blank single line", EXIT_USAGE)
    args.output.write_text(render(answers), encoding="utf-8")
    print(f"wrote {args.output}; `settle` reads it (SETTLE_* variables override it)")
    return EXIT_OK


def _answers(args: argparse.Namespace, interactive: bool) -> dict[str, str]:
    given = {
        "node_id": args.node_id,
        "database_url": args.database_url,
        "api_port": None if args.api_port is None else str(args.api_port),
        "claims_port": None if args.claims_port is None else str(args.claims_port),
    }
    answers = {}
    for key, question, default in _QUESTIONS:
        value = given[key]
        if value is None and interactive:
            value = input(f"{question} [{default}]: ").strip() or default
        answers[key] = default if value is None else value
    return answers


def render(answers: dict[str, str]) -> str:
    """The TOML text; strings through JSON, whose escapes TOML's basic strings accept."""
    lines = [
        "# settlement-ledger configuration, written by `settle init`.",
        "# Every setting can also be given as SETTLE_<NAME> (SETTLE_<TABLE>__<NAME> for a table),",
        "# which wins over this file. See the README's configuration reference.",
        f"node_id = {json.dumps(answers['node_id'])}",
    ]
    if answers["database_url"]:
        lines.append(f"database_url = {json.dumps(answers['database_url'])}")
    lines += [
        "",
        "[api]",
        'host = "127.0.0.1"',
        f"port = {int(answers['api_port'])}",
        "",
        "[claims]",
        'host = "127.0.0.1"',
        f"port = {int(answers['claims_port'])}",
        "",
    ]
    return "\n".join(lines)
