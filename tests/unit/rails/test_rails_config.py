"""Rail configuration: valid settings load; each invalid field is named in the error."""

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from application.rails import RailConfig, RailsConfigurationError, RailsSettings
from application.rails.config import parse_rails_settings

TOKEN_NETWORK = "0x" + "ab" * 20


def rail(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "anvil-a",
        "chain_id": 31337,
        "rpc_url": "http://127.0.0.1:8545",
        "token_network": TOKEN_NETWORK,
        "token": "0x" + "cd" * 20,
        "confirmations": 1,
        "estimated_cost": 21_000 * 10**9,
        "estimated_latency_ms": 2_000,
    }
    values.update(overrides)
    return values


def test_two_rails_load_with_the_documented_defaults() -> None:
    settings = parse_rails_settings(
        {"rails": [rail(), rail(name="anvil-b", chain_id=31338, token_network=None)]}
    )

    assert [r.name for r in settings.rails] == ["anvil-a", "anvil-b"]
    assert settings.rails[1].token_network is None
    assert settings.rails[0].enabled is True
    assert settings.window == 20
    assert settings.failure_threshold == 0.10
    assert settings.cooldown == timedelta(seconds=30)
    assert settings.min_outcomes == 5


def test_rails_settings_can_be_empty_so_it_can_default_inside_settings() -> None:
    assert RailsSettings().rails == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"chain_id": 0}, "rails.0.chain_id"),
        ({"token_network": "0x1234"}, "rails.0.token_network"),
        ({"token_network": "ab" * 21}, "rails.0.token_network"),
        ({"confirmations": -1}, "rails.0.confirmations"),
        ({"estimated_cost": -5}, "rails.0.estimated_cost"),
        ({"estimated_latency_ms": 0}, "rails.0.estimated_latency_ms"),
        ({"name": ""}, "rails.0.name"),
        ({"name": "has space"}, "rails.0.name"),
        ({"colour": "blue"}, "rails.0.colour"),
    ],
)
def test_a_bad_rail_field_is_named(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(RailsConfigurationError) as raised:
        parse_rails_settings({"rails": [rail(**overrides)]})

    assert raised.value.field == field
    assert field in str(raised.value)


def test_the_pydantic_error_names_the_field_too() -> None:
    with pytest.raises(ValidationError) as raised:
        RailConfig.model_validate(rail(estimated_latency_ms=-1))

    assert raised.value.errors()[0]["loc"] == ("estimated_latency_ms",)


def test_the_error_carries_the_bad_value() -> None:
    with pytest.raises(RailsConfigurationError) as raised:
        parse_rails_settings({"rails": [rail(), rail(name="anvil-b", estimated_cost=-7)]})

    assert raised.value.field == "rails.1.estimated_cost"
    assert raised.value.value == -7


def test_duplicate_rail_names_are_refused() -> None:
    with pytest.raises(RailsConfigurationError) as raised:
        parse_rails_settings({"rails": [rail(), rail(chain_id=5)]})

    assert raised.value.field == "rails"
    assert "anvil-a" in raised.value.problem


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"window": 0}, "window"),
        ({"failure_threshold": 1.0}, "failure_threshold"),
        ({"failure_threshold": -0.1}, "failure_threshold"),
        ({"cooldown_seconds": 0}, "cooldown_seconds"),
        ({"min_outcomes": 0}, "min_outcomes"),
        ({"window": 4, "min_outcomes": 5}, "min_outcomes"),
        ({"latency_smoothing": 0}, "latency_smoothing"),
        ({"weights": {"cost": -1}}, "weights.cost"),
        ({"weights": {"cost": 0, "latency": 0, "success": 0}}, "weights.success"),
    ],
)
def test_a_bad_policy_field_is_named(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(RailsConfigurationError) as raised:
        parse_rails_settings({"rails": [rail()], **overrides})

    assert raised.value.field == field


def test_rpc_url_alone_is_the_one_endpoint() -> None:
    [config] = parse_rails_settings({"rails": [rail()]}).rails

    assert config.rpc_endpoints == ["http://127.0.0.1:8545"]


def test_rpc_urls_are_the_endpoints_in_order_after_rpc_url() -> None:
    urls = ["http://127.0.0.1:8546", "https://rpc.example/v1", "http://127.0.0.1:8545"]
    [only_list] = parse_rails_settings({"rails": [rail(rpc_url=None, rpc_urls=urls)]}).rails
    [both] = parse_rails_settings({"rails": [rail(rpc_urls=urls)]}).rails

    assert only_list.rpc_endpoints == urls
    # rpc_url comes first and is not repeated where rpc_urls names it too.
    assert both.rpc_endpoints == [
        "http://127.0.0.1:8545",
        "http://127.0.0.1:8546",
        "https://rpc.example/v1",
    ]


def test_a_rail_without_endpoints_has_none() -> None:
    [config] = parse_rails_settings({"rails": [rail(rpc_url=None)]}).rails

    assert config.rpc_endpoints == []


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"rpc_urls": ["127.0.0.1:8545"]}, "rails.0.rpc_urls", "rpc_urls[0]"),
        ({"rpc_urls": ["http://a:1", "ftp://b"]}, "rails.0.rpc_urls", "rpc_urls[1]"),
        ({"rpc_urls": ["http://a:1", "http://a:1"]}, "rails.0.rpc_urls", "more than once"),
        ({"rpc_urls": [f"http://a:{p}" for p in range(9)]}, "rails.0.rpc_urls", "at most 8"),
        ({"rpc_url": "localhost:8545"}, "rails.0.rpc_url", "pattern"),
    ],
)
def test_a_bad_endpoint_is_named(overrides: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(RailsConfigurationError) as raised:
        parse_rails_settings({"rails": [rail(**overrides)]})

    assert raised.value.field == field
    assert words in str(raised.value)
