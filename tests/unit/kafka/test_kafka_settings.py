"""Kafka settings: topics per aggregate type, bootstrap servers, errors naming the setting."""

from __future__ import annotations

import pytest

from adapters.kafka.settings import KafkaSettings
from bootstrap.settings import ConfigurationError, load_settings


def test_topics_default_from_the_prefix_and_can_be_overridden():
    settings = KafkaSettings(topic_prefix="acme", topics={"Settlement": "acme.payouts"})
    assert settings.topic_for("PeerAccount") == "acme.peer-account.v1"
    assert settings.topic_for("Settlement") == "acme.payouts"


def test_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SETTLE_KAFKA__BOOTSTRAP_SERVERS", "10.0.0.1:9092, 10.0.0.2:9092")
    monkeypatch.setenv("SETTLE_KAFKA__TOPICS", '{"Channel": "ops.channels"}')
    kafka = load_settings().kafka
    assert kafka.servers == ["10.0.0.1:9092", "10.0.0.2:9092"]
    assert kafka.topic_for("Channel") == "ops.channels"


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("SETTLE_KAFKA__BOOTSTRAP_SERVERS", "broker-without-port", "'broker-without-port'"),
        ("SETTLE_KAFKA__TOPICS", '{"Channel": "bad topic"}', "'bad topic'"),
        ("SETTLE_KAFKA__TELEMETRY_TOPIC", "a/b", "'a/b'"),
    ],
)
def test_bad_values_name_the_setting_and_the_value(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert raised.value.setting == name
    assert says in str(raised.value)
