"""`POST /v1/peers/{peer}/assets/{asset}/packet-batches`: a connector records a batch of packets.

The first record answers 201; the same batch again answers 200 with the first response's body,
byte for byte (the batch index keeps each batch's totals, and the balances after it are those of
the account at that batch's version); other entries under the same batch id answer 409. A batch
whose `made_at` lies before the idempotency window (or in the future) answers 422: it may have
been recorded and forgotten. The body is rendered once, compactly, without a second encoder pass.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from application.batch_index import BatchOutsideWindow
from domain.peer_account import BatchResult, Direction, PacketEntry
from entrypoints.http.api.auth import Caller, require
from entrypoints.http.api.deps import App, Config
from entrypoints.http.api.models import PacketBatchIn, PacketBatchOut
from entrypoints.http.api.problems import FieldProblem, ProblemError
from entrypoints.http.api.settings import Scope

router = APIRouter(tags=["packets"])

PeerPath = Annotated[str, Path(min_length=1, max_length=128)]
AssetPath = Annotated[str, Path(min_length=1, max_length=16)]
Connector = Annotated[Caller, Depends(require(Scope.CONNECTOR))]


@router.post(
    "/v1/peers/{peer}/assets/{asset}/packet-batches",
    status_code=201,
    response_model=PacketBatchOut,
    responses={
        200: {"model": PacketBatchOut, "description": "A replay: the first response again."},
        409: {"description": "The batch id was recorded with other entries, or a refusal."},
        413: {"description": "Too many entries or bytes."},
        422: {"description": "Invalid, or made_at outside the idempotency window."},
    },
    summary="Record a batch of packet postings, idempotently by batch_id",
)
def record_packet_batch(
    peer: PeerPath, asset: AssetPath, batch: PacketBatchIn, app: App, settings: Config, _: Connector
) -> Response:
    if len(batch.entries) > settings.max_batch_entries:
        raise ProblemError(
            413,
            "batch-too-large",
            "Batch too large",
            f"{len(batch.entries)} entries; at most {settings.max_batch_entries} per batch",
            [FieldProblem("entries", f"at most {settings.max_batch_entries} entries")],
        )
    entries = [PacketEntry(e.packet_id, Direction(e.direction), e.amount) for e in batch.entries]
    try:
        result = app.record_packets(peer, asset, batch.batch_id, entries, batch.made_at)
    except BatchOutsideWindow as error:
        raise ProblemError(
            422,
            "batch-outside-window",
            "Batch outside the idempotency window",
            str(error),
            [FieldProblem("made_at", str(error))],
        ) from None
    return Response(
        render_batch(result),
        status_code=200 if result.duplicate else 201,
        media_type="application/json",
    )


def render_batch(result: BatchResult) -> bytes:
    """The response body: only what is the same on a replay (not the `duplicate` flag)."""
    body = {
        "batch_id": result.batch_id,
        "incoming_total": result.incoming_total,
        "outgoing_total": result.outgoing_total,
        "payable": result.payable,
        "receivable": result.receivable,
        "threshold_crossed": result.threshold_crossed,
    }
    return json.dumps(body, separators=(",", ":")).encode()
