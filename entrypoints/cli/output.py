"""Printing results: a rich table for people, JSON for machines, one-line errors."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class BadInput(Exception):
    """Input a command refuses before doing anything, with the field named; the CLI exits 2."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"bad input: {field}: {problem}")


def plain(value: Any) -> Any:
    """A JSON-safe form: numerics as int where whole, UUIDs and times as strings."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def emit(rows: Sequence[dict[str, Any]], *, as_json: bool, title: str | None = None) -> None:
    if as_json:
        print(json.dumps([plain(r) for r in rows], indent=None))
        return
    from rich.console import Console  # imported when a table is printed: a fast --help
    from rich.table import Table

    console = Console()
    if not rows:
        console.print(f"{title or 'result'}: none")
        return
    table = Table(title=title)
    for column in rows[0]:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(plain(v)) for v in row.values()))
    console.print(table)


def emit_narrow(rows: Sequence[dict[str, Any]], *, title: str, width: int = 80) -> None:
    """A table for people that keeps each row on one line within `width` columns (or the
    terminal's, if narrower): every column but the last keeps its whole width (an id or a status
    cut short says nothing), the last is cut with an ellipsis. Rows are already formatted."""
    width = min(width, shutil.get_terminal_size((width, 24)).columns)
    print(_cut(title, width))
    if not rows:
        print("(none)")
        return
    columns = list(rows[0])
    cells = [["" if v is None else str(v) for v in row.values()] for row in rows]
    widths = [max([len(c), *(len(line[i]) for line in cells)]) for i, c in enumerate(columns)]
    rule = ["-" * w for w in widths[:-1]] + ["-" * len(columns[-1])]
    for line in [columns, rule, *cells]:
        fixed = "  ".join(value.ljust(w) for value, w in zip(line[:-1], widths, strict=False))
        print(_cut(f"{fixed}  {line[-1]}".rstrip(), width))


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def emit_object(obj: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(plain(obj)))
    else:
        for key, value in obj.items():
            print(f"{key}: {plain(value)}")


def fail(message: str, code: int) -> int:
    """Prints `message` as one line on stderr (line breaks in it escaped) and returns `code`."""
    one_line = message.replace("\r", "\\r").replace("\n", "\\n")
    print(f"settle: {one_line}", file=sys.stderr)
    return code
