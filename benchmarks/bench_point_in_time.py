"""A point-in-time query at the head of a long history, with and without a read-model checkpoint.

The history is real: peers' packet batches and settlement requests recorded through the
application (--events at least). The query rebuilds balances, channels and settlements as of the
head: once replaying from the first event, once from a checkpoint taken --behind events before
the head. The floor is the same replay of only those last events from an empty start, so the
ratio says what restoring the checkpoint costs. No assertion: figures to compare between runs.

    python -m benchmarks.bench_point_in_time [--events 20000] [--behind 500]
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from benchmarks.common import benchmark_database, timed
from bootstrap.node import Node, open_node
from bootstrap.settings import Settings
from domain.money import Asset
from domain.peer_account import Direction, PacketEntry
from projections.point_in_time import read_models_at
from projections.read_model_checkpoints import take_checkpoint

PEERS = 200


def seed(node: Node, events: int) -> None:
    app = node.app
    for p in range(PEERS):
        app.open_peer_account(f"peer{p}", Asset("USD", 2), 10**12, 0, 10**12)
    batch = 0
    while int(app.recorder.max_notification_id() or 0) < events:
        peer = f"peer{batch % PEERS}"
        entries = [
            PacketEntry(f"{peer}-{batch}-{i}", Direction.OUTGOING, 100 + i) for i in range(5)
        ]
        app.record_packets(peer, "USD", f"{peer}-b{batch}", entries)
        if batch % 10 == 0:
            account_id = app.peer_account(peer, "USD").id
            app.request_settlement(f"{peer}-s{batch}", account_id, 5, datetime.now(UTC))
        batch += 1


def query(node: Node, position: int) -> None:
    with read_models_at(node.app, node.pool, position):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--behind", type=int, default=500)
    args = parser.parse_args()
    with (
        benchmark_database("bench_point_in_time") as url,
        open_node(Settings(database_url=url)) as node,
    ):
        seed(node, args.events)
        head = int(node.app.recorder.max_notification_id() or 0)
        checkpoint = head - args.behind
        full = timed(lambda: query(node, head))
        floor = timed(lambda: query(node, args.behind))  # the same number of events, from empty
        take_checkpoint(node.app, node.pool, checkpoint, keep=64)
        restored = timed(lambda: query(node, head))
    print(f"events in the log:               {head}")
    print(f"as of the head, from event 1:    {full * 1000:10.1f} ms")
    print(f"as of the head, from checkpoint: {restored * 1000:10.1f} ms (+{args.behind} events)")
    print(f"floor: replay of {args.behind} events:  {floor * 1000:10.1f} ms")
    print(f"speed-up over a full replay:     {full / restored:10.1f}x")
    print(f"checkpoint query / floor:        {restored / floor:10.2f}")


if __name__ == "__main__":
    main()
