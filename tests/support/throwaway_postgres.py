"""Settings for a PostgreSQL server a test starts and deletes: no flushing to disk.

Such a server never outlives its test run and never crashes under a test, so it need not be
durable: creating and dropping a database per test costs a checkpoint and its fsyncs, and every
commit waits on one (about 2 s of each test's set-up and tear-down on the CI's disk). What a
transaction sees is unchanged; only durability across a crash of the server or the OS is lost.
Never for a server a test kills: there, what survives the crash is the behaviour under test.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

THROWAWAY_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def no_durability(admin_url: str) -> None:
    """Turns durability off on the running server behind `admin_url` (a reload, no restart)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for name, value in THROWAWAY_SETTINGS.items():
            conn.execute(
                sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value))
            )
        conn.execute("SELECT pg_reload_conf()")


def create_from_template(admin_url: str, name: str, template: str) -> None:
    """A copy of `template`: FILE_COPY copies its few files, where the default (WAL_LOG) writes
    every page of it through the WAL, several times slower for a database this small."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
