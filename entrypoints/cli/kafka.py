"""`settle kafka status|publish|create-topics` and `settle consume --group G [--check]`."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from typing import Any

from adapters.kafka.admin import ensure_topics
from adapters.kafka.balance_view import BalanceView
from adapters.kafka.consumer import ReferenceConsumer
from adapters.kafka.producer import BrokerUnavailable
from bootstrap.kafka import publisher_runner
from bootstrap.node import open_node
from bootstrap.settings import Settings
from entrypoints.cli.output import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, emit, emit_object, fail
from projections.kafka_publisher import KafkaPublisher
from projections.runner import head_position


def register(subparsers: Any) -> None:
    kafka = subparsers.add_parser("kafka", help="publish the event history to Kafka")
    commands = kafka.add_subparsers(dest="kafka_command", required=True)
    status = commands.add_parser("status", help="publisher position, head and lag")
    status.set_defaults(handler=run_status)
    publish = commands.add_parser("publish", help="publish recorded events not yet published")
    publish.add_argument("--follow", action="store_true", help="keep publishing new events")
    publish.set_defaults(handler=run_publish)
    topics = commands.add_parser("create-topics", help="create the topics with N partitions")
    topics.add_argument("--partitions", type=int, default=6)
    topics.set_defaults(handler=run_create_topics)

    consume = subparsers.add_parser(
        "consume", help="reference consumer: a balance view rebuilt from Kafka"
    )
    consume.add_argument("--group", required=True, help="Kafka consumer group id")
    consume.add_argument("--view", type=Path, help="SQLite file of the view (default: data_dir)")
    consume.add_argument(
        "--check", action="store_true", help="catch up, then compare with the ledger's read model"
    )
    consume.add_argument(
        "--until-caught-up", action="store_true", help="stop at the end of the topic"
    )
    consume.set_defaults(handler=run_consume)


def run_status(args: argparse.Namespace) -> int:
    with open_node(args.settings) as node:
        runner, producer = publisher_runner(node)
        try:
            position, head = runner.position(), head_position(node.app)
        finally:
            runner.close()
            producer.close()
    emit_object(
        {
            "projection": KafkaPublisher.name,
            "position": position,
            "head": head,
            "lag": head - position,
            "bootstrap_servers": args.settings.kafka.bootstrap_servers,
        },
        as_json=args.json,
    )
    return EXIT_OK


def run_publish(args: argparse.Namespace) -> int:
    kafka = args.settings.kafka
    with open_node(args.settings) as node:
        runner, producer = publisher_runner(node)
        try:
            if args.follow:
                stop = _stop_on_signals()
                runner.run_forever(
                    stop,
                    poll_interval=kafka.initial_backoff_ms / 1000,
                    max_backoff=kafka.max_backoff_ms / 1000,
                )
                published = 0
            else:
                published = runner.catch_up()
        except BrokerUnavailable as error:
            return fail(str(error), EXIT_FAILURE)
        finally:
            runner.close()
            producer.close()
    if not args.follow:
        emit_object({"published_events": published}, as_json=args.json)
    return EXIT_OK


def run_create_topics(args: argparse.Namespace) -> int:
    if args.partitions < 1:
        return fail(f"--partitions must be at least 1, got {args.partitions}", EXIT_USAGE)
    kafka = args.settings.kafka
    names = [kafka.topic_for(kind) for kind in ("PeerAccount", "Channel", "Settlement")]
    created = ensure_topics(kafka, [*names, kafka.telemetry_topic], args.partitions)
    emit([{"topic": name} for name in created], as_json=args.json, title="topics created")
    return EXIT_OK


def run_consume(args: argparse.Namespace) -> int:
    settings: Settings = args.settings
    path = args.view or settings.data_dir / "kafka-consumer" / f"{args.group}.sqlite3"
    view = BalanceView(path)
    consumer = ReferenceConsumer(settings.kafka, args.group, view)
    try:
        if args.check or args.until_caught_up:
            consumer.catch_up()
        else:
            consumer.run(_stop_on_signals())
        stats = consumer.stats
    finally:
        consumer.close()
    try:
        if args.check:
            return _check(settings, view, as_json=args.json)
        emit_object(vars(stats), as_json=args.json)
        return EXIT_OK
    finally:
        view.close()


def _check(settings: Settings, view: BalanceView, *, as_json: bool) -> int:
    with open_node(settings) as node:
        ledger = {(r["peer_id"], r["asset_code"]): r for r in node.read_side().all_balances()}
    ours = view.balances()
    differences = []
    for key in sorted(set(ledger) | set(ours)):
        expected, actual = ledger.get(key), ours.get(key)
        for column in ("payable", "receivable", "in_flight", "paused"):
            want = None if expected is None else expected[column]
            got = None if actual is None else getattr(actual, column)
            if want != got:
                differences.append(
                    {"peer": key[0], "asset": key[1], "field": column, "ledger": want, "view": got}
                )
    if differences:
        emit(differences, as_json=as_json, title="view differs from the ledger's read model")
        return EXIT_FAILURE
    emit_object(
        {"accounts": len(ours), "equal": True, "view_position": view.last_position()},
        as_json=as_json,
    )
    return EXIT_OK


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop
