"""A child process for the ledger crash test: catches the ledger postings follower up with the
event store, then exits. The test kills it part-way and runs it again.

    python -m tests.support.ledger_catch_up --database-url URL [--batch-size N]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from adapters.ledger.factory import build_chart, build_ledger
from application.app import SettlementApp
from application.event_store import postgres_env
from bootstrap.settings import load_settings
from projections.ledger_postings import LedgerPostingsProjection
from projections.runner import ProjectionRunner


def main(argv: Sequence[str] | None = None) -> int:
    """Catches the ledger up with the event store, then exits (used by the crash test)."""
    parser = argparse.ArgumentParser(prog="python -m tests.support.ledger_catch_up")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args(argv)
    settings = load_settings().ledger
    ledger = build_ledger(settings, args.database_url)
    app = SettlementApp(env=postgres_env(args.database_url, pool_size=2))
    runner = ProjectionRunner(
        app,
        args.database_url,
        LedgerPostingsProjection(ledger, build_chart(settings)),
        batch_size=args.batch_size,
    )
    try:
        applied = runner.catch_up()
        print(f"applied {applied} events; position {runner.position()}")
    finally:
        runner.close()
        ledger.close()
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
