"""docs/operations/metrics.md lists every metric the node exports, and nothing it does not: a
metric added, renamed or dropped without the operator's list following fails here."""

from __future__ import annotations

import re
from pathlib import Path

from adapters.metrics.collectors import ReadModelCollector
from adapters.metrics.definitions import NodeMetrics

DOC = Path(__file__).resolve().parents[3] / "docs" / "operations" / "metrics.md"


def _exported_families() -> set[str]:
    names = {family.name for family in NodeMetrics().registry.collect()}

    def down() -> object:
        raise ConnectionError("no database in a unit test")

    collector = ReadModelCollector(down, lambda: [])  # type: ignore[arg-type]
    names.update(family.name for family in collector.collect())
    return names


def test_the_operators_metric_list_matches_the_exported_metrics() -> None:
    listed = set(re.findall(r"^\| `(settle_[a-z_]+)` \|", DOC.read_text(), re.MULTILINE))
    assert listed == _exported_families()
