"""The producer names each message's partition itself (the key's hash computed once per key):
it must be the partition kafka-python's default partitioner would choose, or one aggregate's
messages would move to another partition and lose their order."""

from kafka.partitioner.default import DefaultPartitioner  # type: ignore[import-untyped]

from adapters.kafka.producer import KeyPartitions


class Cluster:
    """The metadata both ask: a topic's partitions (all available)."""

    def __init__(self, partitions: dict[str, set[int]]) -> None:
        self._partitions = partitions

    def topics(self) -> set[str]:
        return set(self._partitions)

    def partitions_for_topic(self, topic: str) -> set[int]:
        return self._partitions[topic]

    def available_partitions_for_topic(self, topic: str) -> set[int]:
        return self._partitions[topic]

    def partitions_for(self, topic: str) -> set[int]:  # as KafkaProducer.partitions_for
        return self._partitions[topic]


def test_each_key_goes_where_the_default_partitioner_sends_it() -> None:
    cluster = Cluster({"events": set(range(6)), "telemetry": {0, 1, 2}})
    default = DefaultPartitioner()
    hashes: dict[bytes, int] = {}
    keys = [f"peer-{i}".encode() for i in range(50)] + ["é-ü".encode(), b"", b"\xff" * 40]
    for _ in range(2):  # the second time from the cached hashes
        partitions = KeyPartitions(cluster, hashes)
        for topic in ("events", "telemetry"):
            for key in keys:
                expected = default.partition(topic, key, key, None, None, cluster)
                assert partitions.of(topic, key) == expected
    assert len(hashes) == len(keys)


def test_a_topic_given_more_partitions_is_read_again_in_the_next_batch() -> None:
    cluster = Cluster({"events": {0, 1}})
    hashes: dict[bytes, int] = {}
    key = b"peer-7"
    KeyPartitions(cluster, hashes).of("events", key)
    cluster = Cluster({"events": set(range(12))})
    expected = DefaultPartitioner().partition("events", key, key, None, None, cluster)
    assert KeyPartitions(cluster, hashes).of("events", key) == expected
