"""Settlement events on an account alone, for tests of what consumes them (ledger postings, the
audit chain, Kafka): reserved, applied and released without a `Settlement` driven through every
step.

The application has no such primitive on purpose (`application/commands/peer_accounts.py` says
why): these run the account's own command inside the store's atomic save, as the settlement use
cases do, but without the `Settlement` that refuses a reused id, so they belong in tests only.
"""

from __future__ import annotations

from uuid import UUID

from application.app import SettlementApp
from domain.peer_account import PeerAccount


def reserve(app: SettlementApp, account_id: UUID, settlement_id: UUID, amount: int) -> None:
    app._change(account_id, PeerAccount, lambda a: a.reserve(settlement_id, amount))


def apply(app: SettlementApp, account_id: UUID, settlement_id: UUID) -> None:
    app._change(account_id, PeerAccount, lambda a: a.apply(settlement_id))


def release(app: SettlementApp, account_id: UUID, settlement_id: UUID) -> None:
    app._change(account_id, PeerAccount, lambda a: a.release(settlement_id))
