"""A node on a fresh database with the settlement engine's API served on 127.0.0.1, per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from engine_service import EngineService, start_engine


@pytest.fixture
def engine_service(database_url: str) -> Iterator[EngineService]:
    with start_engine(database_url) as service:
        yield service
