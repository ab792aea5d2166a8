"""What a route needs from the running service, taken from the ASGI app's state.

`create_app` puts the application, read side, settings and clock there once; routes ask for them
by type through these dependencies, so building the app for its OpenAPI document needs none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query, Request

from application.app import SettlementApp
from domain.errors import InvalidField
from entrypoints.http.api.settings import ApiSettings
from projections.point_in_time import PositionOutOfRange, position_as_of, read_models_at
from projections.read_side import ReadSide


def _app(request: Request) -> SettlementApp:
    app: SettlementApp = request.app.state.settlement_app
    return app


def _read_side(request: Request) -> ReadSide:
    read_side: ReadSide = request.app.state.read_side
    return read_side


def _settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.api_settings
    return settings


def _clock(request: Request) -> Callable[[], datetime]:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock


App = Annotated[SettlementApp, Depends(_app)]
Reads = Annotated[ReadSide, Depends(_read_side)]
Config = Annotated[ApiSettings, Depends(_settings)]
Clock = Annotated[Callable[[], datetime], Depends(_clock)]


def _reads_at(
    request: Request,
    reads: Annotated[ReadSide, Depends(_read_side)],
    at_position: Annotated[
        int | None, Query(ge=0, description="The read models as they were at this position.")
    ] = None,
    as_of: Annotated[
        datetime | None, Query(description="The read models as they were at this time.")
    ] = None,
) -> Iterator[ReadSide]:
    """The live read models, or with `at_position` / `as_of` those of the past, rebuilt from the
    events up to that point (not from today's read models) and dropped after the response."""
    if at_position is None and as_of is None:
        yield reads
        return
    if at_position is not None and as_of is not None:
        raise InvalidField("as_of", as_of, "give at_position or as_of, not both")
    app = _app(request)
    if as_of is not None:
        if as_of.tzinfo is None:
            raise InvalidField("as_of", as_of, "must carry a time zone (e.g. 2026-12-01T00:00Z)")
        at_position = position_as_of(reads.pool, as_of)
    assert at_position is not None
    try:
        with read_models_at(app, reads.pool, at_position) as schema:
            yield reads.at(schema)
    except PositionOutOfRange as error:
        raise InvalidField("at_position", at_position, str(error)) from None


ReadsAt = Annotated[ReadSide, Depends(_reads_at)]
