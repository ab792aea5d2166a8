"""`GET /v1/risk` (the `read` scope): each peer's risk score from its recent fraud findings,
highest first, with the findings behind it. Read-only; lifting a rule's pause is the operator's
resume."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from entrypoints.http.api.auth import Caller, require
from entrypoints.http.api.deps import Clock
from entrypoints.http.api.problems import ProblemError
from entrypoints.http.api.settings import Scope
from projections.fraud_findings import RiskReader

router = APIRouter(tags=["reads"])
Reader = Annotated[Caller, Depends(require(Scope.READ))]


class FindingOut(BaseModel):
    finding_id: str
    rule: str
    action: str
    facts: dict[str, Any]
    at: datetime


class RiskOut(BaseModel):
    peer_id: str
    asset_code: str
    score: int
    findings: int
    rules: dict[str, int]
    last_at: datetime | None
    recent: list[FindingOut]


class RiskPage(BaseModel):
    items: list[RiskOut]
    window_hours: int


def _risk(request: Request) -> RiskReader:
    reader: RiskReader | None = getattr(request.app.state, "risk", None)
    if reader is None:
        raise ProblemError(
            503,
            "risk-unavailable",
            "Risk scores unavailable",
            "this service was built without the findings reader",
            [],
        )
    return reader


@router.get("/v1/risk", response_model=RiskPage, summary="Risk scores of peers with findings")
def risk_scores(
    request: Request,
    clock: Clock,
    _: Reader,
    peer: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    window_hours: Annotated[int, Query(ge=1, le=24 * 90)] = 24,
) -> RiskPage:
    scores = _risk(request).scores(clock(), window_hours * 3600, peer)
    items = [
        RiskOut(
            peer_id=s.peer_id,
            asset_code=s.asset_code,
            score=s.score,
            findings=s.findings,
            rules=s.rules,
            last_at=s.last_at,
            recent=[FindingOut(**f) for f in s.recent],
        )
        for s in scores
    ]
    return RiskPage(items=items, window_hours=window_hours)
