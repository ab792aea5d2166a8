"""A child process for the ledger crash test: catches the ledger postings follower up with the
event store, then exits. The test has it crash part-way and runs it again.

    python -m tests.support.ledger_catch_up --database-url URL [--batch-size N]
        [--crash-at FAILPOINT --after-batches N]

With `--crash-at`, the child applies N batches, then arms the failpoint (`SETTLE_FAILPOINTS`),
so the next batch SIGKILLs the process at that point inside the posting: the crash lands on
observed progress, whatever the machine's speed.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from adapters.ledger.factory import build_chart, build_ledger
from application.app import SettlementApp
from application.event_store import postgres_env
from bootstrap.node import application_pool
from bootstrap.settings import load_settings
from projections.ledger_postings import LedgerPostingsProjection
from projections.runner import ProjectionRunner

CRASH_POINTS = ("postings_before_ledger", "postings_after_ledger")
"""The failpoints of `projections.ledger_postings`: before the ledger call, and after the
ledger acknowledged a batch but before its tracking record commits."""
_FAILPOINTS = "SETTLE_FAILPOINTS"


def main(argv: Sequence[str] | None = None) -> int:
    """Catches the ledger up with the event store, then exits (used by the crash test)."""
    parser = argparse.ArgumentParser(prog="python -m tests.support.ledger_catch_up")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--crash-at", choices=CRASH_POINTS, help="failpoint to die at")
    parser.add_argument("--after-batches", type=int, default=0, help="batches applied first")
    args = parser.parse_args(argv)
    os.environ.pop(_FAILPOINTS, None)  # armed below, after the batches asked for
    settings = load_settings().ledger
    ledger = build_ledger(settings, args.database_url)
    app = SettlementApp(env=postgres_env(args.database_url, pool_size=2))
    runner = ProjectionRunner(
        app,
        application_pool(app),
        LedgerPostingsProjection(ledger, build_chart(settings)),
        batch_size=args.batch_size,
    )
    try:
        applied = 0
        if args.crash_at:
            for _ in range(args.after_batches):
                applied += runner.run_once()
            os.environ[_FAILPOINTS] = args.crash_at
        applied += runner.catch_up()
        print(f"applied {applied} events; position {runner.position()}")
    finally:
        runner.close()
        ledger.close()
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
