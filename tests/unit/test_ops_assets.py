"""The dashboards and alert rules query only metrics the node exports: a renamed metric cannot
leave a panel or an alert silently empty."""

from __future__ import annotations

import json
import re
from pathlib import Path

from adapters.metrics.collectors import ReadModelCollector
from adapters.metrics.definitions import NodeMetrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
_NAME = re.compile(r"\b(settle_[a-z_]+)")
_SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def _exported() -> set[str]:
    names = set()
    for family in NodeMetrics().registry.collect():
        names.add(family.name)
        names.update(sample.name for sample in family.samples)

    # Scrape-time gauges, from a collector whose database is down (it still yields every family).
    def down() -> object:
        raise ConnectionError("no database in a unit test")

    collector = ReadModelCollector(down, lambda: [])  # type: ignore[arg-type]
    names.update(family.name for family in collector.collect())
    return names


def _queried(text: str) -> set[str]:
    return set(_NAME.findall(text))


def _known(name: str, exported: set[str]) -> bool:
    if name in exported:
        return True
    return any(name.endswith(s) and name[: -len(s)] in exported for s in _SUFFIXES)


def test_every_dashboard_query_names_an_exported_metric() -> None:
    exported = _exported()
    dashboard = json.loads((DEPLOY / "grafana/dashboards/settlement-ledger.json").read_text())
    expressions = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    unknown = {n for e in expressions for n in _queried(e) if not _known(n, exported)}
    assert expressions and not unknown


def test_every_alert_rule_names_an_exported_metric() -> None:
    exported = _exported()
    rules = (DEPLOY / "prometheus/alerts.yml").read_text()
    queried = _queried(rules)
    assert len(queried) >= 8
    assert {n for n in queried if not _known(n, exported)} == set()


def test_every_alert_links_to_a_runbook_section_that_exists() -> None:
    rules = (DEPLOY / "prometheus/alerts.yml").read_text()
    anchors = set(re.findall(r"runbook: docs/operations/incidents\.md#([a-z-]+)", rules))
    incidents = (DEPLOY.parent / "docs/operations/incidents.md").read_text()
    defined = set(re.findall(r'<a id="([a-z-]+)"></a>', incidents))
    assert len(anchors) >= 8
    assert anchors <= defined
