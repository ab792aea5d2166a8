"""Operator actions on the chain (scope `operator`): close a channel, settle a closed one; and the
rails as the running node sees them (scope `read`): breaker state and routing score, live.

Routes parse and hand over to the node's `NodeOperations` port. Only the leader sends chain
transactions (one key, one nonce sequence), so a standby answers 409 naming the leader; a node
without rails (or a rail for the channel) answers 503 naming what is missing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from application.chain_ports import ContractRefusal
from entrypoints.http.api.auth import Caller, require
from entrypoints.http.api.models import Problem
from entrypoints.http.api.node_operations import (
    ChannelNotReady,
    ChannelOutcome,
    NodeOperations,
    NotLeader,
    OperationUnavailable,
    UnknownChannel,
)
from entrypoints.http.api.problems import FieldProblem, ProblemError
from entrypoints.http.api.settings import Scope

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/operator", tags=["operator"])

Operator = Annotated[Caller, Depends(require(Scope.OPERATOR))]
Reader = Annotated[Caller, Depends(require(Scope.READ))]
_PROBLEM: dict[str, Any] = {"model": Problem, "content": {"application/problem+json": {}}}
_CHAIN_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {**_PROBLEM, "description": "Another node leads, or the channel is in no state for it."},
    503: {**_PROBLEM, "description": "No rails, no rail for the channel, or its chain is down."},
}


def _operations(request: Request) -> NodeOperations:
    operations: NodeOperations | None = getattr(request.app.state, "operations", None)
    if operations is None:
        detail = "this API runs without the node's settlement process (serve it with `settle run`)"
        raise ProblemError(503, "unavailable", "Not available on this node", detail, [])
    return operations


# Listed after the caller in each route: dependencies run in order, so 401/403 come first.
Operations = Annotated[NodeOperations, Depends(_operations)]


class CloseChannelIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    reason: str = Field(min_length=1, max_length=500, pattern=r"^[^\r\n]*\S[^\r\n]*$")


class ChannelActionOut(BaseModel):
    """The channel after the action; amounts in token base units (`token_decimals`)."""

    channel_id: UUID
    state: str
    rail: str | None
    token_decimals: int
    tx_hash: str | None
    settled_now: bool
    our_amount: int | None
    partner_amount: int | None


class RailOut(BaseModel):
    """A rail now: `score` (0..1, against the other usable rails) when it may take a
    settlement, otherwise `unusable` says why (circuit open, probe in flight, disabled...)."""

    name: str
    chain_id: int
    token_network: str | None
    enabled: bool
    breaker: str
    score: float | None
    success_rate: float | None
    latency_ms: float
    unusable: str | None


class RailsOut(BaseModel):
    node_id: str
    leading: bool
    rails: list[RailOut]


@router.post(
    "/channels/{channel_id}/close",
    response_model=ChannelActionOut,
    summary="Close a channel on chain with the partner's latest proof (the leader only)",
    responses=_CHAIN_RESPONSES,
)
def close_channel(
    channel_id: UUID, body: CloseChannelIn, caller: Operator, operations: Operations
) -> ChannelActionOut:
    with _refusals():
        outcome = operations.close_channel(channel_id, f"api:{caller.name}: {body.reason}")
    log.info("channel close requested", extra={"channel_id": str(channel_id), "by": caller.name})
    return _out(outcome)


@router.post(
    "/channels/{channel_id}/settle",
    response_model=ChannelActionOut,
    summary="Pay out a closed channel after its challenge period (the leader only)",
    responses=_CHAIN_RESPONSES,
)
def settle_channel(channel_id: UUID, caller: Operator, operations: Operations) -> ChannelActionOut:
    with _refusals():
        outcome = operations.settle_channel(channel_id)
    log.info("channel settle requested", extra={"channel_id": str(channel_id), "by": caller.name})
    return _out(outcome)


@router.get(
    "/rails",
    response_model=RailsOut,
    summary="Each rail's breaker state and routing score, live from the node",
    responses={503: _CHAIN_RESPONSES[503]},
)
def rails(_: Reader, operations: Operations) -> RailsOut:
    with _refusals():
        standing = operations.rails()
    return RailsOut(
        node_id=standing.node_id,
        leading=standing.leading,
        rails=[RailOut(**vars(rail)) for rail in standing.rails],
    )


def _out(outcome: ChannelOutcome) -> ChannelActionOut:
    return ChannelActionOut(**vars(outcome))


@contextmanager
def _refusals() -> Iterator[None]:
    """Each refusal of the port as its problem document."""
    try:
        yield
    except OperationUnavailable as error:
        title = "Not available on this node"
        raise ProblemError(503, "unavailable", title, str(error), []) from None
    except NotLeader as error:
        raise ProblemError(409, "not-leader", "Another node leads", str(error), []) from None
    except UnknownChannel as error:
        field = FieldProblem("channel_id", str(error), "path")
        raise ProblemError(404, "not-found", "Not found", str(error), [field]) from None
    except ChannelNotReady as error:
        field = FieldProblem("channel_id", str(error), "path")
        title = "Channel not in a state for it"
        raise ProblemError(409, "channel-state", title, str(error), [field]) from None
    except ContractRefusal as error:
        title = "The contract refused"
        raise ProblemError(409, "contract-refused", title, str(error), []) from None
    except Exception as error:
        if not getattr(error, "retryable", False):
            raise
        detail = f"the chain did not answer; try again: {error}"
        raise ProblemError(503, "chain-unavailable", "Chain unavailable", detail, []) from None
