"""`settle api`: serve the node's service API alone (until interrupted), or write its OpenAPI
document (`--write-openapi [PATH]`, by default schemas/openapi.json) without a database."""

from __future__ import annotations

import argparse
import json
import threading
from pathlib import Path
from typing import Any

from application.clock import system_clock
from bootstrap import service
from bootstrap.http import HttpServer
from bootstrap.node import open_node
from entrypoints.cli.output import EXIT_OK
from entrypoints.http.api.app import create_app, openapi_document

OPENAPI_PATH = Path(__file__).resolve().parents[2] / "schemas" / "openapi.json"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("api", help="serve the HTTP service API, or write its OpenAPI")
    p.add_argument(
        "--write-openapi",
        nargs="?",
        const=str(OPENAPI_PATH),
        metavar="PATH",
        help=f"write the OpenAPI document and exit (default {OPENAPI_PATH.name} in schemas/)",
    )
    p.set_defaults(handler=cmd_api)


def render_openapi() -> str:
    """The committed form: sorted keys, two-space indent, a final newline."""
    return json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"


def cmd_api(args: argparse.Namespace) -> int:
    if args.write_openapi:
        Path(args.write_openapi).write_text(render_openapi())
        print(f"wrote {args.write_openapi}")
        return EXIT_OK
    settings = args.settings.api
    stop = threading.Event()
    service.stop_on_signals(stop)
    with open_node(args.settings) as node:
        asgi = create_app(node.app, node.read_side(), settings, clock=system_clock)
        with HttpServer(asgi, settings.host, settings.port) as server:
            print(f"serving {server.url}", flush=True)
            service.wait_for_stop(stop)
    return EXIT_OK
