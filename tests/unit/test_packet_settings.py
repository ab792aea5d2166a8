"""The batch limits: defaults, and a ceiling the setting cannot be raised past."""

import pytest

from bootstrap.settings import ConfigurationError, load_settings
from domain.peer_account import MAX_BATCH_ENTRIES


def test_defaults_are_ten_thousand_entries_and_four_megabytes() -> None:
    limits = load_settings().packets
    assert (limits.max_batch_entries, limits.max_batch_bytes) == (10_000, 4 * 2**20)


def test_the_entries_limit_cannot_be_raised_past_the_domain_ceiling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SETTLE_PACKETS__MAX_BATCH_ENTRIES", str(MAX_BATCH_ENTRIES + 1))
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert raised.value.setting == "SETTLE_PACKETS__MAX_BATCH_ENTRIES"
