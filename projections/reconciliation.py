"""The books' side of reconciliation: channel rows, and our proofs with their acknowledgements.

Read from the channels and settlements read models (on the node's pool) and, for the receipt a
delivery recorded, from each settlement's own events. The replay and the ledger comparison are
handed in by the wiring, which owns the node and the ledger adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg_pool import ConnectionPool

from application.reconciliation_checks import Acknowledgement, ChannelProofs
from application.store import AggregateStore
from domain.settlement import Settlement, SettlementStatus

DEFAULT_CLAIM_GRACE = timedelta(minutes=15)
"""How long a settlement may take to deliver a proof it signed before its silence counts."""

_CHANNELS = (
    "SELECT channel_id, peer_id, asset_code, chain_id, token_network, our_address,"
    " partner_address, onchain_id, state, our_deposit, partner_deposit, our_nonce,"
    " our_transferred FROM channels"
)


class ReconciliationBooks:
    """The BooksPort of `application.reconciliation`."""

    def __init__(
        self,
        pool: ConnectionPool[Any],
        app: AggregateStore,
        replay: Callable[[], tuple[int, Sequence[Any]]],
        ledger_comparisons: Callable[[str | None], Sequence[Any]],
        catch_up: Callable[[], object] = lambda: None,
        claim_grace: timedelta = DEFAULT_CLAIM_GRACE,
    ) -> None:
        self.pool = pool
        self.app = app
        self._replay = replay
        self._ledger_comparisons = ledger_comparisons
        self._catch_up = catch_up
        self.claim_grace = claim_grace

    def replay(self) -> tuple[int, Sequence[Any]]:
        return self._replay()

    def ledger_comparisons(self, peer_id: str | None) -> Sequence[Any]:
        return self._ledger_comparisons(peer_id)

    def channels(self, peer_id: str | None) -> list[dict[str, Any]]:
        self._catch_up()
        where, params = (" WHERE peer_id = %s", (peer_id,)) if peer_id is not None else ("", ())
        with self.pool.connection() as conn:
            rows = conn.execute(_CHANNELS + where + " ORDER BY channel_id", params).fetchall()
        return [dict(row) for row in rows]

    def channel_proofs(self, peer_id: str | None, now: datetime) -> list[ChannelProofs]:
        """Each channel we signed a proof on, with every settlement's proof on it."""
        found = []
        for row in self.channels(peer_id):
            if int(row["our_nonce"]) == 0:
                continue
            proofs = ChannelProofs(
                str(row["channel_id"]), int(row["our_nonce"]), int(row["our_transferred"])
            )
            for settlement_id in self._settlements_on(row["channel_id"]):
                settlement = self.app.load(settlement_id, Settlement)
                if settlement.nonce is None or settlement.transferred_amount is None:
                    continue
                if (
                    settlement.status == SettlementStatus.PROOF_SIGNED
                    and settlement.updated_at > now - self.claim_grace
                ):
                    proofs.delivering = True
                proofs.acknowledgements.append(
                    Acknowledgement(
                        str(settlement.id),
                        settlement.nonce,
                        settlement.transferred_amount,
                        self._receipt(settlement.id),
                    )
                )
            found.append(proofs)
        return found

    def _settlements_on(self, channel_id: UUID) -> list[UUID]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT settlement_id FROM settlements WHERE channel_id = %s AND nonce IS NOT NULL"
                " ORDER BY nonce",
                (channel_id,),
            ).fetchall()
        return [row["settlement_id"] for row in rows]

    def _receipt(self, settlement_id: UUID) -> str | None:
        receipt = None
        for event in self.app.history(settlement_id):
            if isinstance(event, Settlement.Delivered):
                receipt = event.receipt
        return receipt
