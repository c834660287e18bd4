"""docs/metrics.md's table is the catalog's."""

from __future__ import annotations

from app.core.catalog import CATALOG
from app.core.metric_table import END, METRICS_DOC, START, markdown_table


def test_the_metric_table_matches_the_catalog() -> None:
    document = METRICS_DOC.read_text()
    table = document.split(START, 1)[1].split(END, 1)[0]
    assert table.strip() == markdown_table(CATALOG).strip(), (
        "docs/metrics.md is stale: regenerate it with `make catalog`")
