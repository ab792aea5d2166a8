"""`settle rails`: each configured rail — chain id, token network, whether its RPC answers — and
its breaker state and routing score as the node's last routing decision recorded them.

The breakers live in the running node's memory (and on its /metrics as
`settle_rail_breaker_open`); what a separate command can know is the last `RailChosen` a
settlement recorded, so the columns say when that was. Exit 1 when an enabled rail's RPC does
not answer, so a script can check the rails before starting a node.

With `--node URL` the view is the running node's, live (`GET /v1/operator/rails`, a token with
the `read` scope in SETTLE_API_TOKEN): the breaker state and routing score it would route by now.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from bootstrap.node import open_node
from bootstrap.operator import probe_rpc
from entrypoints.cli.output import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, emit, emit_narrow, fail
from projections.rail_decisions import last_rail_decision, rail_at_decision


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("rails", help="configured rails: chain, RPC, breaker, routing score")
    p.add_argument(
        "--no-probe", action="store_true", help="do not contact the rails' RPC endpoints"
    )
    p.add_argument(
        "--node",
        metavar="URL",
        help="a running node's API (e.g. http://127.0.0.1:8080): its live breakers and scores;"
        " the token is read from SETTLE_API_TOKEN",
    )
    p.set_defaults(handler=cmd_rails)


def cmd_rails(args: argparse.Namespace) -> int:
    if args.node is not None:
        return _live(args.node, args.json)
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


def _live(url: str, as_json: bool) -> int:
    """The running node's own view, through its API."""
    import httpx  # imported when asked for: the plain view needs no HTTP client

    from entrypoints.http.client import ApiClient, ApiError

    if not url.startswith(("http://", "https://")):
        return fail(f"--node: {url!r} is not an http(s) URL", EXIT_USAGE)
    try:
        with ApiClient(url, os.environ.get("SETTLE_API_TOKEN")) as client:
            standing = client.rails()
    except ApiError as error:
        detail = error.problem.get("detail") or error.problem.get("title") or ""
        if error.status in (401, 403):
            refused = f"SETTLE_API_TOKEN: {url} refused it ({error.status}): {detail}"
            return fail(refused, EXIT_USAGE)
        return fail(f"--node: {url} answered {error.status}: {detail}", EXIT_FAILURE)
    except httpx.HTTPError as error:
        return fail(f"--node: {url} did not answer: {type(error).__name__}", EXIT_FAILURE)
    rows = standing["rails"]
    if as_json:
        node = {"node_id": standing["node_id"], "leading": standing["leading"]}
        emit([{**row, **node} for row in rows], as_json=True)
        return EXIT_OK
    role = "leader" if standing["leading"] else "standby"
    table = []
    for row in rows:
        human = _human({**row, "rpc_up": None, "skipped": None})
        del human["rpc"]
        table.append({**human, "unusable": row["unusable"] or ""})
    emit_narrow(table, title=f"rails on {standing['node_id']} ({role}), live")
    return EXIT_OK
