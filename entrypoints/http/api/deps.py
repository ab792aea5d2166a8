"""What a route needs from the running service, taken from the ASGI app's state.

`create_app` puts the application, read side, settings and clock there once; routes ask for them
by type through these dependencies, so building the app for its OpenAPI document needs none.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from application.app import SettlementApp
from entrypoints.http.api.settings import ApiSettings
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
