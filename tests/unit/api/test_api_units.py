"""The API's pure parts: token checks, field paths in problems, cursors and ages."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.errors import InvalidField
from entrypoints.http.api.auth import TokenTable, Unauthenticated, token_sha256
from entrypoints.http.api.problems import field_path
from entrypoints.http.api.routes_reads import parse_age
from entrypoints.http.api.settings import ApiClientSettings, ApiSettings, Scope
from projections.read_side import check_limit, decode_cursor, encode_cursor


def table() -> TokenTable:
    clients = {
        "a": ApiClientSettings(
            token_sha256=token_sha256("secret-a"), scopes=frozenset({Scope.READ})
        ),
        "b": ApiClientSettings(
            token_sha256=token_sha256("secret-b"), scopes=frozenset({Scope.OPERATOR})
        ),
    }
    return TokenTable(clients)


def test_a_token_finds_its_client_and_scopes() -> None:
    caller = table().caller("secret-b")
    assert (caller.name, caller.scopes) == ("b", frozenset({Scope.OPERATOR}))


@pytest.mark.parametrize("token", [None, "", "secret-c", "secret-a ", token_sha256("secret-a")])
def test_a_missing_or_unknown_token_is_unauthenticated(token: str | None) -> None:
    with pytest.raises(Unauthenticated):
        table().caller(token)


def test_settings_refuse_a_token_in_the_clear_or_no_scopes() -> None:
    with pytest.raises(ValueError, match="token_sha256"):
        ApiSettings.model_validate(
            {"clients": {"x": {"token_sha256": "hunter2", "scopes": ["read"]}}}
        )
    with pytest.raises(ValueError, match="scopes"):
        ApiClientSettings(token_sha256="0" * 64, scopes=frozenset())


@pytest.mark.parametrize(
    ("loc", "expected"),
    [
        (("body", "entries", 3, "amount"), ("entries[3].amount", "body")),
        (("query", "limit"), ("limit", "query")),
        (("path", "peer"), ("peer", "path")),
        (("body",), ("body", "body")),
    ],
)
def test_pydantic_locations_become_field_paths(
    loc: tuple[int | str, ...], expected: tuple[str, str]
) -> None:
    assert field_path(loc) == expected


def test_a_cursor_round_trips_and_a_forged_one_is_refused() -> None:
    assert decode_cursor(encode_cursor(["alice", 7]), 2) == ["alice", "7"]
    for forged in ["", "%%%", encode_cursor(["one"]), "eyJ4IjoxfQ"]:
        with pytest.raises(InvalidField) as error:
            decode_cursor(forged, 2)
        assert error.value.field == "cursor"


@pytest.mark.parametrize("limit", [0, -1, 1001, True])
def test_limits_outside_one_to_a_thousand_are_refused(limit: int) -> None:
    with pytest.raises(InvalidField):
        check_limit(limit)


def test_ages() -> None:
    assert parse_age("90") == timedelta(seconds=90)
    assert parse_age("15m") == timedelta(minutes=15)
    assert parse_age("2d") == timedelta(days=2)
    with pytest.raises(InvalidField) as error:
        parse_age("1w")
    assert error.value.field == "stuck"
