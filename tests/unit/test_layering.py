"""Dependencies point inward: the application holds no SQL and opens no connection of its own,
and nothing outside the adapters opens a database connection beside the node's one pool."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE FROM)\b")


def _code_lines(path: Path) -> list[str]:
    """The file's lines, comments and docstring prose aside (a crude but sufficient cut)."""
    return [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]


def test_the_application_holds_no_sql() -> None:
    found = [
        f"{path.relative_to(ROOT)}: {line.strip()}"
        for path in sorted((ROOT / "application").rglob("*.py"))
        for line in _code_lines(path)
        if SQL.search(line) and ('"' in line or "'" in line)
    ]
    assert found == []


def test_no_layer_but_the_adapters_opens_its_own_connection() -> None:
    found = [
        str(path.relative_to(ROOT))
        for layer in ("domain", "application", "projections", "entrypoints", "bootstrap")
        for path in sorted((ROOT / layer).rglob("*.py"))
        if "psycopg.connect(" in path.read_text()
    ]
    assert found == []
