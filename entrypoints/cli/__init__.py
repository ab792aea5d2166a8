"""The `settle` command line: human tables by default, --json for machines.

Exit codes: 0 success, 1 a failure or a difference found, 2 bad configuration or input.
Each command module listed here has `register(subparsers)`; its handlers take the parsed
arguments and return the exit code. Modules are imported only when one of their commands runs
(`COMMANDS`), so `settle --help` and `settle --version` answer at once.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from entrypoints.cli.output import EXIT_FAILURE, EXIT_USAGE, fail

# Each top-level command, the module that registers it, and its one-line help.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("devtools.demo_command", "run the whole flow on embedded defaults"),
    "run": ("entrypoints.cli.core", "run the service: API, followers and processes"),
    "api": ("entrypoints.cli.api", "serve the HTTP service API, or write its OpenAPI"),
    "migrate": ("entrypoints.cli.core", "apply pending SQL migrations"),
    "balances": ("entrypoints.cli.core", "balances per peer and asset"),
    "channels": ("entrypoints.cli.core", "payment channels (every column; see `channel list`)"),
    "channel": ("entrypoints.cli.channels", "payment channels: list, close, settle"),
    "rails": ("entrypoints.cli.rails", "configured rails: chain, RPC, breaker, routing score"),
    "settlements": ("entrypoints.cli.core", "settlements by status, peer or stuck age"),
    "history": ("entrypoints.cli.core", "every event of a peer account, channel or settlement"),
    "replay": ("entrypoints.cli.core", "rebuild read models from the first event and compare"),
    "peer": ("entrypoints.cli.peers", "peer accounts: open, register, pause, resume, limits"),
    "packets": ("entrypoints.cli.peers", "record packet postings"),
    "dlq": ("entrypoints.cli.dlq", "dead-lettered settlements: list, retry, discard"),
    "ledger": ("entrypoints.cli.ledger", "the double-entry ledger"),
    "kafka": ("entrypoints.cli.kafka", "publish the event history to Kafka"),
    "consume": ("entrypoints.cli.kafka", "reference consumer: a balance view rebuilt from Kafka"),
    "verify": ("entrypoints.cli.audit", "recompute the tamper-evident event chain"),
    "anchor": ("entrypoints.cli.audit", "record and print the event chain's head"),
    "export": ("entrypoints.cli.audit", "chained events of a position range, for audit"),
    "init": ("entrypoints.cli.init", "write a starting configuration file (settle.toml)"),
    "reconcile": ("entrypoints.cli.reconcile", "compare the books with the events, ledger, chain"),
    "keys": ("entrypoints.cli.keys", "signing keys: list, rotate, generate"),
    "risk": ("entrypoints.cli.risk", "risk score per peer from the fraud rules' findings"),
}
COMMAND_MODULES = list(dict.fromkeys(module for module, _ in COMMANDS.values()))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # One line, as every bad input: the usage is one `--help` away.
        fail(f"bad input: {message} (see `{self.prog} --help`)", EXIT_USAGE)
        raise SystemExit(EXIT_USAGE)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `command`, only that command's module is imported and registered
    (every command is listed either way)."""
    parser = _Parser(prog="settle", description="Event-sourced settlement ledger")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--version", action="version", version=f"settle {package_version()}")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    wanted = [COMMANDS[command][0]] if command in COMMANDS else COMMAND_MODULES
    registered: set[str] = set()
    for module_name in dict.fromkeys(wanted):
        try:
            module = importlib.import_module(module_name) if command is not None else None
        except ModuleNotFoundError as error:
            missing = error.name or ""
            if module_name == missing or module_name.startswith(missing + "."):
                continue  # a capability not installed in this build (the image has no devtools)
            raise
        if module is not None:
            before = set(subparsers.choices)
            module.register(subparsers)
            registered |= set(subparsers.choices) - before
    for name, (module_name, summary) in COMMANDS.items():
        if name not in registered and _installed(module_name):
            subparsers.add_parser(name, help=summary, add_help=False)
    return parser


def _installed(module_name: str) -> bool:
    """Whether a command's module is in this build (the service image has no devtools), found
    without importing the module itself."""
    try:
        return importlib.util.find_spec(module_name) is not None
    except (ModuleNotFoundError, ValueError):
        return False


def package_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("settlement-ledger")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _split_json(argv: Sequence[str]) -> tuple[list[str], bool]:
    """`--json` is accepted anywhere on the line (`settle balances --json` too)."""
    rest = [a for a in argv if a != "--json"]
    return rest, len(rest) != len(argv)


def _command_of(argv: Sequence[str]) -> str | None:
    return next((a for a in argv if not a.startswith("-")), None)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM stops a command as Ctrl-C does: a query in progress is cancelled and every
    `with` block exits, so an embedded PostgreSQL the command started is stopped too."""
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    words, as_json = _split_json(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command_of(words))
    args = parser.parse_args(words)
    args.json = args.json or as_json
    if not hasattr(args, "handler"):
        parser.error(f"{args.command}: this command is not installed in this build")
    # Imported once a command is known to run, so --help and --version stay instant.
    from application.store import AlreadyExists, NotFound
    from bootstrap.logs import configure_logging
    from bootstrap.settings import ConfigurationError, load_settings, unknown_variables
    from domain.errors import DomainError
    from entrypoints.cli.output import BadInput

    try:
        args.settings = load_settings()
    except ConfigurationError as error:
        return fail(str(error), EXIT_USAGE)
    configure_logging(args.settings.log_level, args.settings.log_format, args.settings.node_id)
    for name in unknown_variables():
        logging.getLogger("settle").warning("unknown setting ignored", extra={"variable": name})
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
