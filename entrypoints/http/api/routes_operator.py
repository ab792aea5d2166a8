"""Operator actions (the `operator` scope): pause and resume a peer, change its threshold or credit
limit, each through the application's named method, so the checks run on the state being saved.

A pause records who asked for it: the reason saved is "<client name>: <reason>".
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Path

from application.app import SettlementApp
from domain.peer_account import PeerAccount
from entrypoints.http.api.auth import Caller, require
from entrypoints.http.api.deps import App
from entrypoints.http.api.models import AccountOut, CreditLimitIn, PauseIn, ThresholdIn
from entrypoints.http.api.settings import Scope

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/peers/{peer}/assets/{asset}", tags=["operator"])

Operator = Annotated[Caller, Depends(require(Scope.OPERATOR))]
PeerPath = Annotated[str, Path(min_length=1, max_length=128)]
AssetPath = Annotated[str, Path(min_length=1, max_length=16)]


@router.post("/pause", response_model=AccountOut, summary="Pause a peer: no packets, no payouts")
def pause_peer(
    peer: PeerPath, asset: AssetPath, body: PauseIn, app: App, caller: Operator
) -> AccountOut:
    app.pause(PeerAccount.create_id(peer, asset), f"{caller.name}: {body.reason}")
    log.info("peer paused", extra={"peer": peer, "asset": asset, "by": caller.name})
    return _account(app, peer, asset)


@router.post("/resume", response_model=AccountOut, summary="Resume a paused peer")
def resume_peer(peer: PeerPath, asset: AssetPath, app: App, caller: Operator) -> AccountOut:
    app.resume_peer_account(PeerAccount.create_id(peer, asset), f"api:{caller.name}")
    log.info("peer resumed", extra={"peer": peer, "asset": asset, "by": caller.name})
    return _account(app, peer, asset)


@router.put("/threshold", response_model=AccountOut, summary="Change threshold and settle-to")
def change_threshold(
    peer: PeerPath, asset: AssetPath, body: ThresholdIn, app: App, caller: Operator
) -> AccountOut:
    app.change_threshold(PeerAccount.create_id(peer, asset), body.threshold, body.settle_to)
    log.info("threshold changed", extra={"peer": peer, "asset": asset, "by": caller.name})
    return _account(app, peer, asset)


@router.put("/credit-limit", response_model=AccountOut, summary="Change the credit limit")
def change_credit_limit(
    peer: PeerPath, asset: AssetPath, body: CreditLimitIn, app: App, caller: Operator
) -> AccountOut:
    app.change_credit_limit(PeerAccount.create_id(peer, asset), body.credit_limit)
    log.info("credit limit changed", extra={"peer": peer, "asset": asset, "by": caller.name})
    return _account(app, peer, asset)


def _account(app: SettlementApp, peer: str, asset: str) -> AccountOut:
    account = app.peer_account(peer, asset)
    return AccountOut(
        peer_id=account.peer_id,
        asset_code=account.asset_code,
        asset_scale=account.asset_scale,
        payable=account.payable,
        receivable=account.receivable,
        in_flight=account.in_flight,
        threshold=account.threshold,
        settle_to=account.settle_to,
        credit_limit=account.credit_limit,
        paused=account.paused_reason is not None,
        paused_reason=account.paused_reason,
    )
