"""Support for the Kafka tests: the broker handle and reading topics back."""

from __future__ import annotations

import time
import uuid
from collections import defaultdict

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from adapters.kafka.settings import KafkaSettings
from devtools.tansu import TansuBroker


def wait_for_metadata(bootstrap_server: str, timeout: float = 20.0) -> None:
    """Returns once a kafka-python client can fetch cluster metadata from the broker."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap_server, request_timeout_ms=2000)
            try:
                admin.list_topics()
                return
            finally:
                admin.close()
        except (KafkaError, OSError) as error:
            last_error = error
            time.sleep(0.1)
    raise TimeoutError(f"broker {bootstrap_server} served no metadata: {last_error!r}")


class ManagedBroker:
    """The test's handle on its broker: stop and start it again on the same port."""

    def __init__(self, broker: TansuBroker) -> None:
        self._broker = broker

    @property
    def bootstrap_server(self) -> str:
        return self._broker.bootstrap_server

    def start(self) -> None:
        self._broker.start()
        wait_for_metadata(self._broker.bootstrap_server)

    def stop(self) -> None:
        self._broker.stop()


def read_topic(settings: KafkaSettings, topic: str, expected: int, timeout: float = 30.0) -> list:
    return read_topics(settings, [topic], expected, timeout)


def read_topics(
    settings: KafkaSettings, topics: list[str], expected: int, timeout: float = 30.0
) -> list:
    """Every record of `topics` from the beginning (no consumer group), once at least `expected`
    arrived and a last poll brought nothing more; in partition order. Topics may not exist yet."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.servers,
        enable_auto_commit=False,
        group_id=None,
        allow_auto_create_topics=False,
    )
    try:
        deadline = time.monotonic() + timeout
        records: dict[tuple[str, int], list] = defaultdict(list)
        assigned: set[TopicPartition] = set()
        quiet_polls = 0
        while time.monotonic() < deadline:
            found = {
                TopicPartition(topic, p)
                for topic in topics
                for p in (consumer.partitions_for_topic(topic) or ())
            }
            if found - assigned:
                consumer.assign(sorted(found))
                consumer.seek_to_beginning(*(found - assigned))
                assigned = found
            batches = consumer.poll(timeout_ms=200) if assigned else {}
            if not assigned:
                time.sleep(0.1)
                consumer.topics()  # refreshes metadata
            for tp, batch in batches.items():
                records[(tp.topic, tp.partition)].extend(batch)
            total = sum(len(r) for r in records.values())
            quiet_polls = quiet_polls + 1 if not batches else 0
            if total >= expected and quiet_polls >= 2:
                break
        return [record for key in sorted(records) for record in records[key]]
    finally:
        consumer.close()


def records_by_position(records: list) -> dict[int, list]:
    by_position: dict[int, list] = defaultdict(list)
    for record in records:
        by_position[int(dict(record.headers)["position"].decode())].append(record)
    return by_position


def first_occurrence_versions(records: list) -> dict[bytes, list[int]]:
    """Per key, the aggregate versions in the order they first arrived (duplicates dropped)."""
    import json

    seen: dict[bytes, list[int]] = defaultdict(list)
    for record in records:
        version = json.loads(record.value)["aggregate_version"]
        if version not in seen[record.key]:
            seen[record.key].append(version)
    return seen


class Activity:
    """Records ledger activity through the real application: accounts, packets, settlements."""

    def __init__(self, app: object, peers: int = 3) -> None:
        from domain.money import Asset

        self.app = app
        self.peers = [f"peer-{i}" for i in range(peers)]
        self.accounts = {}
        self._step = 0
        for peer in self.peers:
            self.accounts[peer] = app.open_peer_account(  # type: ignore[attr-defined]
                peer, Asset("USD", 2), threshold=10**12, settle_to=0, credit_limit=2**120
            )

    def packets(self, rounds: int) -> None:
        from domain.peer_account import Direction, PacketEntry

        for _ in range(rounds):
            for peer in self.peers:
                self._step += 1
                entries = [
                    PacketEntry(f"p{self._step}-in", Direction.INCOMING, 2**70 + self._step),
                    PacketEntry(f"p{self._step}-out", Direction.OUTGOING, 1000 + self._step),
                ]
                self.app.record_packets(peer, "USD", f"b{self._step}", entries)  # type: ignore[attr-defined]

    def settle(self, peer: str, amount: int, *, fail: bool = False) -> object:
        """A settlement paid to `peer` through every step, or failed after one retryable attempt."""
        from datetime import UTC, datetime, timedelta
        from functools import partial

        from tests.support import account_settlements as settle
        from tests.support import aggregate_commands as aggregates

        app = self.app
        account_id = self.accounts[peer]
        self._step += 1
        start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=self._step)
        sid = app.request_settlement(f"s{self._step}", account_id, amount, start)  # type: ignore[attr-defined]
        app.reserve_settlement(sid)  # type: ignore[attr-defined]
        change = partial(aggregates.change_settlement, app)
        later = start + timedelta(seconds=1)
        change(
            sid,
            lambda s: s.attempt_failed("RailDown", "rpc timeout", True, later, start),
        )
        if fail:
            change(sid, lambda s: s.fail("no route", later))
            settle.release(app, account_id, sid)  # type: ignore[arg-type]
            return sid
        change(sid, lambda s: s.channel_ready(uuid.uuid4(), None, later))
        change(sid, lambda s: s.proof_signed(1, amount, "0xsig", later))
        change(sid, lambda s: s.delivered("receipt", later))
        change(sid, lambda s: s.applied(later))
        change(sid, lambda s: s.complete(start + timedelta(milliseconds=2500)))
        settle.apply(app, account_id, sid)  # type: ignore[arg-type]
        app.receive_settlement(account_id, f"claim-{self._step}", 7)  # type: ignore[attr-defined]
        return sid
