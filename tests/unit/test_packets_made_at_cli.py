"""`settle packets record --made-at`: an ISO 8601 time with an offset, or a one-line error."""

from datetime import UTC, datetime

import pytest

from entrypoints.cli.output import BadInput
from entrypoints.cli.peers import parse_made_at


def test_made_at_is_read_with_its_offset_and_absent_means_now() -> None:
    assert parse_made_at("2026-01-01T00:00:00Z") == datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_made_at(None) is None


@pytest.mark.parametrize("text", ["yesterday", "2026-01-01T00:00:00"])
def test_a_made_at_without_offset_or_not_a_time_names_the_option(text: str) -> None:
    with pytest.raises(BadInput, match="--made-at"):
        parse_made_at(text)
