"""The ledger postings projection: domain events become ledger transfers exactly once.

Each batch of events is planned into accounts and transfers (projections.ledger_planner),
posted to the ledger in large requests, and only then, once the ledger acknowledged, does
the runner commit the tracking record together with this projection's own state. A crash
in between replays the batch: the same ids come back as `exists`, which counts as success.
`exists with different fields` or any other refusal stops the projection loudly. Two
failpoints bracket the ledger call (`postings_before_ledger`, `postings_after_ledger`) so a
crash test can kill the process exactly there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

import psycopg

from adapters.ledger.chart import Chart
from adapters.ledger.errors import LedgerError
from adapters.ledger.port import CreateResult, LedgerPort
from application.failpoints import failpoint
from domain.channel import Channel
from domain.peer_account import PeerAccount
from projections.ledger_planner import ChannelPostingState, Hold, PostingPlanner, PostingState
from projections.runner import PositionedEvent, Projection

log = logging.getLogger(__name__)


class PostingRefused(LedgerError):
    """The ledger refused a posting: a conflict with what it holds, never skipped."""

    retryable = False

    def __init__(self, kind: str, ledger_id: int, result: CreateResult, position: int) -> None:
        self.kind = kind
        self.ledger_id = ledger_id
        self.result = result
        self.position = position
        super().__init__(
            f"ledger refused {kind} id={ledger_id:#034x} from event position {position}:"
            f" result={result.value}"
        )


class LedgerPostingsProjection(Projection):
    name = "ledger_postings"

    def __init__(
        self,
        ledger: LedgerPort,
        chart: Chart,
        on_results: Callable[[Sequence[CreateResult]], None] | None = None,
    ) -> None:
        self.ledger = ledger
        self.chart = chart
        self.on_results = on_results  # the ledger results by code, for the metrics
        # Peer and asset of each peer account: fixed when the account opens, so safe to keep
        # across batches (and a batch of packets needs no read of the projection's state).
        self._peers: dict[UUID, tuple[str, str]] = {}

    def apply(self, cursor: psycopg.Cursor[Any], events: Sequence[PositionedEvent]) -> None:
        state = _load_state(cursor, events, self._peers)
        planner = PostingPlanner(self.chart, state)
        for positioned in events:
            planner.add(positioned.position, positioned.event)
        plan = planner.plan
        failpoint("postings_before_ledger")
        if plan.accounts:
            unique = list({a.id: a for a in plan.accounts}.values())
            results = self.ledger.create_accounts(unique)
            for account, result in zip(unique, results, strict=True):
                if not result.succeeded:
                    raise PostingRefused("account", account.id, result, events[0].position)
        if plan.transfers:
            results = self.ledger.create_transfers(plan.transfers)
            if self.on_results is not None:
                self.on_results(results)
            if results.count(CreateResult.CREATED) != len(results):  # else nothing to look at
                for transfer, result in zip(plan.transfers, results, strict=True):
                    if not result.succeeded:
                        position = plan.positions[transfer.id]
                        raise PostingRefused("transfer", transfer.id, result, position)
            log.debug(
                "ledger transfers posted",
                extra={
                    "projection": self.name,
                    "transfers": len(plan.transfers),
                    "created": results.count(CreateResult.CREATED),
                    "position": events[-1].position,
                },
            )
        _save_state(cursor, state)
        self._peers.update(state.peers)
        failpoint("postings_after_ledger")  # the ledger has the batch; tracking is not committed


def _load_state(
    cursor: psycopg.Cursor[Any],
    events: Sequence[PositionedEvent],
    known_peers: dict[UUID, tuple[str, str]],
) -> PostingState:
    peers: set[UUID] = set()
    channels: set[UUID] = set()
    settlements: set[UUID] = set()
    for positioned in events:
        event = positioned.event
        if isinstance(event, PeerAccount.Event):
            peers.add(event.originator_id)
            if isinstance(event, PeerAccount.SettlementApplied | PeerAccount.SettlementReleased):
                settlements.add(event.settlement_id)
        elif isinstance(event, Channel.Event):
            channels.add(event.originator_id)
    state = PostingState()
    state.peers = {key: known_peers[key] for key in peers & known_peers.keys()}
    if peers - known_peers.keys():
        cursor.execute(
            "SELECT account_id, peer_id, asset_code FROM ledger_posting_accounts"
            " WHERE account_id = ANY(%s)",
            (list(peers - known_peers.keys()),),
        )
        state.peers |= {row[0]: (row[1], row[2]) for row in cursor.fetchall()}
    if channels:
        cursor.execute(
            "SELECT channel_id, peer_id, asset_code, our_address, our_deposit, token_decimals,"
            " asset_scale FROM ledger_posting_channels WHERE channel_id = ANY(%s)",
            (list(channels),),
        )
        state.channels = {
            row[0]: ChannelPostingState(row[1], row[2], row[3], int(row[4]), row[5], row[6])
            for row in cursor.fetchall()
        }
    if settlements:
        cursor.execute(
            "SELECT settlement_id, account_id, pending_id, amount FROM ledger_posting_holds"
            " WHERE settlement_id = ANY(%s)",
            (list(settlements),),
        )
        state.holds = {row[0]: Hold(row[1], row[2].int, int(row[3])) for row in cursor.fetchall()}
    return state


def _save_state(cursor: psycopg.Cursor[Any], state: PostingState) -> None:
    if state.changed_peers:
        cursor.executemany(
            "INSERT INTO ledger_posting_accounts (account_id, peer_id, asset_code)"
            " VALUES (%s, %s, %s) ON CONFLICT (account_id) DO NOTHING",
            [(key, *state.peers[key]) for key in state.changed_peers],
        )
    if state.changed_channels:
        cursor.executemany(
            "INSERT INTO ledger_posting_channels"
            " (channel_id, peer_id, asset_code, our_address, our_deposit, token_decimals,"
            " asset_scale) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (channel_id)"
            " DO UPDATE SET our_deposit = EXCLUDED.our_deposit",
            [
                (
                    key,
                    c.peer_id,
                    c.asset_code,
                    c.our_address,
                    c.our_deposit,
                    c.token_decimals,
                    c.asset_scale,
                )
                for key, c in ((k, state.channels[k]) for k in state.changed_channels)
            ],
        )
    if state.changed_holds:
        cursor.executemany(
            "INSERT INTO ledger_posting_holds (settlement_id, account_id, pending_id, amount)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT (settlement_id) DO NOTHING",
            [
                (key, h.account_id, UUID(int=h.pending_id), h.amount)
                for key, h in ((k, state.holds[k]) for k in state.changed_holds)
            ],
        )
