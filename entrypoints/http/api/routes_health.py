"""`/healthz` (the process answers) and `/readyz` (the database answers, followers not too far
behind), without authentication, for orchestrators and load balancers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib import metadata

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from entrypoints.http.api.deps import Config, Reads
from entrypoints.http.api.models import Health, Readiness

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


def package_version() -> str:
    try:
        return metadata.version("settlement-ledger")
    except metadata.PackageNotFoundError:
        return "unknown"


@router.get("/healthz", response_model=Health, summary="The process is alive")
def healthz() -> Health:
    return Health(status="alive")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready: see the body."}},
    summary="The database is reachable and followers keep up",
)
def readyz(request: Request, reads: Reads, settings: Config) -> JSONResponse:
    try:
        reads.ping()
        head = reads.head_position()
        lag = {name: max(head - p, 0) for name, p in sorted(reads.follower_positions().items())}
    except Exception as error:  # any failure to read means not ready; the body says which part
        log.warning("readiness check failed", extra={"error": repr(error)})
        body = Readiness(
            status="not_ready",
            version=package_version(),
            database="unreachable",
            head_position=None,
            follower_lag={},
        )
        return JSONResponse(body.model_dump(), status_code=503)
    dependencies = _check_dependencies(request)
    limit = settings.ready_max_lag
    ready = limit is None or all(behind <= limit for behind in lag.values())
    ready = ready and all(state == "up" for state in dependencies.values())
    body = Readiness(
        status="ready" if ready else "not_ready",
        version=package_version(),
        database="reachable",
        head_position=head,
        follower_lag=lag,
        dependencies=dependencies,
    )
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


def _check_dependencies(request: Request) -> dict[str, str]:
    """Runs the checks the service registered (`app.state.dependency_checks`): each raises when
    its dependency cannot serve. `app.state.on_dependency(name, up)` hears every result."""
    checks: dict[str, Callable[[], None]] = getattr(request.app.state, "dependency_checks", {})
    report = getattr(request.app.state, "on_dependency", None)
    states = {}
    for name, check in sorted(checks.items()):
        try:
            check()
            states[name] = "up"
        except Exception as error:  # the body names the dependency and why, never a 500
            states[name] = f"down: {type(error).__name__}: {error}"[:300]
        if report is not None:
            report(name, states[name] == "up")
    return states
