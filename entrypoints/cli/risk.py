"""`settle risk [PEER]`: each peer's risk score from its recent fraud findings (read-only).

Exit code 0 when no listed peer scores at or above `--fail-at` (default: never fails), so a
check can alert on it; a score names the rules behind it. Pauses are lifted by `settle peer
resume`.
"""

from __future__ import annotations

import argparse
from typing import Any

from application.clock import system_clock
from bootstrap.node import open_node
from entrypoints.cli.output import EXIT_FAILURE, EXIT_OK, BadInput, emit
from projections.fraud_findings import risk_scores


def register(subparsers: Any) -> None:
    risk = subparsers.add_parser("risk", help="peers' risk scores from recent fraud findings")
    risk.add_argument("peer", nargs="?", help="only this peer (0 if it has no findings)")
    risk.add_argument("--window-hours", type=int, default=24, help="findings counted (24)")
    risk.add_argument("--fail-at", type=int, help="exit 1 if a score reaches this")
    risk.set_defaults(handler=cmd_risk)


def cmd_risk(args: argparse.Namespace) -> int:
    if args.window_hours < 1:
        raise BadInput("--window-hours", "must be at least 1")
    with open_node(args.settings) as node:
        scores = risk_scores(node.pool, system_clock(), args.window_hours * 3600, args.peer)
    rows: list[dict[str, Any]] = [
        {
            "peer": s.peer_id,
            "asset": s.asset_code,
            "score": s.score,
            "findings": s.findings,
            "rules": ", ".join(f"{rule} x{count}" for rule, count in sorted(s.rules.items())),
            "last_at": s.last_at,
        }
        for s in scores
    ]
    if args.peer is not None and not rows:
        rows = [
            {
                "peer": args.peer,
                "asset": "",
                "score": 0,
                "findings": 0,
                "rules": "",
                "last_at": None,
            }
        ]
    emit(rows, as_json=args.json, title=f"risk over the last {args.window_hours} h")
    failing = args.fail_at is not None and any(r["score"] >= args.fail_at for r in rows)
    return EXIT_FAILURE if failing else EXIT_OK
