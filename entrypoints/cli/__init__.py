"""The `settle` command line: human tables by default, --json for machines.

Exit codes: 0 success, 1 a failure or a difference found, 2 bad configuration or input.
Each command module listed here has `register(subparsers)`; its handlers take the parsed
arguments and return the exit code.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from application.store import AlreadyExists, NotFound
from bootstrap.logs import configure_logging
from bootstrap.settings import ConfigurationError, load_settings
from domain.errors import DomainError
from entrypoints.cli.output import EXIT_FAILURE, EXIT_USAGE, BadInput, fail

COMMAND_MODULES = [
    "entrypoints.cli.core",
    "devtools.demo_command",
    "entrypoints.cli.dlq",
    "entrypoints.cli.peers",
    "entrypoints.cli.ledger",
    "entrypoints.cli.kafka",
    "entrypoints.cli.audit",
    "entrypoints.cli.api",
    "entrypoints.cli.risk",
]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"settle: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="settle", description="Event-sourced settlement ledger")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name == module_name:
                continue  # a capability not installed in this build
            raise
        module.register(subparsers)
    return parser


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM stops a command as Ctrl-C does: a query in progress is cancelled and every
    `with` block exits, so an embedded PostgreSQL the command started is stopped too."""
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.settings = load_settings()
    except ConfigurationError as error:
        return fail(str(error), EXIT_USAGE)
    configure_logging(args.settings.log_level, args.settings.log_format, args.settings.node_id)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        code: int = args.handler(args)
        return code
    except (ConfigurationError, BadInput) as error:
        return fail(str(error), EXIT_USAGE)
    except (NotFound, AlreadyExists) as error:
        return fail(f"rejected: {error}", EXIT_USAGE)
    except DomainError as error:
        return fail(f"rejected: {error}", EXIT_USAGE)
    except KeyboardInterrupt:
        return fail("interrupted", EXIT_FAILURE)
    except Exception as error:
        logging.getLogger("settle").exception("command failed")
        return fail(f"failed: {type(error).__name__}: {error}", EXIT_FAILURE)


if __name__ == "__main__":
    sys.exit(main())
