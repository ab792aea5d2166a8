"""How the eventsourcing library is pointed at PostgreSQL from a DATABASE_URL.

The persistence is the library's own with its table setup serialised across processes and its
inserts sent whole (`adapters.postgres.event_store` says why); this module only names it.
"""

from __future__ import annotations

import psycopg.conninfo


def postgres_env(
    database_url: str, *, pool_size: int = 5, max_overflow: int | None = None
) -> dict[str, str]:
    """The eventsourcing library's environment for the database behind `database_url`."""
    info = psycopg.conninfo.conninfo_to_dict(database_url)
    return {
        "PERSISTENCE_MODULE": "adapters.postgres.event_store:EventStoreFactory",
        "POSTGRES_DBNAME": str(info.get("dbname") or "postgres"),
        "POSTGRES_HOST": str(info.get("host") or "localhost"),
        "POSTGRES_PORT": str(info.get("port") or "5432"),
        "POSTGRES_USER": str(info.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(info.get("password") or ""),
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(pool_size if max_overflow is None else max_overflow),
        "POSTGRES_LOCK_TIMEOUT": "10",
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "30",
        "CREATE_TABLE": "y",
    }
