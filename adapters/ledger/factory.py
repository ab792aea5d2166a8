"""Builds the configured ledger backend."""

from __future__ import annotations

from adapters.ledger.chart import Chart
from adapters.ledger.port import LedgerPort
from adapters.ledger.settings import LedgerSettings


def build_ledger(settings: LedgerSettings, database_url: str) -> LedgerPort:
    if settings.backend == "tigerbeetle":
        from adapters.ledger.tigerbeetle_backend import TigerBeetleLedger

        return TigerBeetleLedger(
            settings.cluster_id,
            settings.replica_addresses,
            deadline_seconds=settings.request_deadline_seconds,
        )
    from adapters.ledger.postgres_backend import PostgresLedger

    return PostgresLedger(database_url, deadline_seconds=settings.request_deadline_seconds)


def build_chart(settings: LedgerSettings) -> Chart:
    return Chart(asset_ledgers=dict(settings.asset_ledgers))
