from pathlib import Path

import psycopg
import pytest

from adapters.postgres.migrations import MigrationError, apply_migrations


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    return {row[0] for row in rows}


def test_second_run_applies_nothing(empty_database_url: str) -> None:
    first = apply_migrations(empty_database_url)
    assert first, "a fresh database should receive every migration"
    assert apply_migrations(empty_database_url) == []
    assert {"schema_migrations", "balances", "channels", "settlements"} <= _tables(
        empty_database_url
    )


def test_failed_migration_leaves_nothing_behind(empty_database_url: str, tmp_path: Path) -> None:
    (tmp_path / "0001_good.sql").write_text("CREATE TABLE good (id int);")
    (tmp_path / "0002_bad.sql").write_text(
        "CREATE TABLE half_written (id int); INSERT INTO missing_table VALUES (1);"
    )
    with pytest.raises(MigrationError) as raised:
        apply_migrations(empty_database_url, tmp_path)
    assert raised.value.version == 2
    tables = _tables(empty_database_url)
    assert "good" in tables
    assert "half_written" not in tables
    with psycopg.connect(empty_database_url) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
    assert versions == [1]


def test_changed_migration_file_is_refused(empty_database_url: str, tmp_path: Path) -> None:
    script = tmp_path / "0001_one.sql"
    script.write_text("CREATE TABLE one (id int);")
    apply_migrations(empty_database_url, tmp_path)
    script.write_text("CREATE TABLE one (id bigint);")
    with pytest.raises(MigrationError, match="has changed"):
        apply_migrations(empty_database_url, tmp_path)
