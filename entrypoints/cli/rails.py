"""`settle rails`: each configured rail — chain id, token network, whether its RPC answers — and
its breaker state and routing score as the node's last routing decision recorded them.

The breakers live in the running node's memory (and on its /metrics as
`settle_rail_breaker_open`); what a separate command can know is the last `RailChosen` a
settlement recorded, so the columns say when that was. Exit 1 when an enabled rail's RPC does
not answer, so a script can check the rails before starting a node.
"""

from __future__ import annotations

import argparse
from typing import Any

from bootstrap.node import open_node
from bootstrap.operator import probe_rpc
from entrypoints.cli.output import EXIT_FAILURE, EXIT_OK, emit, emit_narrow
from projections.rail_decisions import last_rail_decision, rail_at_decision


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("rails", help="configured rails: chain, RPC, breaker, routing score")
    p.add_argument(
        "--no-probe", action="store_true", help="do not contact the rails' RPC endpoints"
    )
    p.set_defaults(handler=cmd_rails)


def cmd_rails(args: argparse.Namespace) -> int:
    settings = args.settings
    configured = list(settings.rails.rails)
    with open_node(settings) as node:
        decision = last_rail_decision(node.pool, node.app)
    rows = []
    for rail in configured:
        probe = None if args.no_probe else probe_rpc(rail, settings.chain.rpc_timeout_seconds)
        seen = rail_at_decision(decision, rail.name)
        rows.append(
            {
                "name": rail.name,
                "chain_id": rail.chain_id,
                "token_network": rail.token_network,
                "enabled": rail.enabled,
                "rpc_up": None if probe is None else probe.up,
                "rpc_problem": None if probe is None or probe.up else probe.problem,
                "breaker": seen.breaker,
                "score": seen.score,
                "skipped": seen.skipped,
                "decided_at": decision.get("at") if decision else None,
            }
        )
    down = [r["name"] for r in rows if r["enabled"] and r["rpc_up"] is False]
    if args.json:
        emit(rows, as_json=True)
    elif not rows:
        print("rails: none configured (SETTLE_RAILS): no settlement can be paid")
    else:
        at = decision.get("at") if decision else None
        when = f"last routing decision {at}" if at else "no routing decision recorded yet"
        emit_narrow([_human(r) for r in rows], title="rails")
        print(f"breaker and score: as of the {when}" if at else f"breaker and score: {when}")
        for row in rows:
            if row["rpc_problem"]:
                print(f"{row['name']}: RPC does not answer: {row['rpc_problem']}")
    return EXIT_FAILURE if down else EXIT_OK


def _human(row: dict[str, Any]) -> dict[str, Any]:
    network = row["token_network"] or "-"
    rpc = {None: "-", True: "up", False: "down"}[row["rpc_up"]]
    return {
        "rail": row["name"] if row["enabled"] else f"{row['name']} (off)",
        "chain": row["chain_id"],
        "token network": f"{network[:6]}…{network[-4:]}" if len(network) > 12 else network,
        "rpc": rpc,
        "breaker": row["breaker"] or row["skipped"] or "-",
        "score": "-" if row["score"] is None else f"{row['score']:.3f}",
    }
