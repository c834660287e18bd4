"""The metric table of ``docs/metrics.md``, generated from the catalog.

    $ python -m app.core.metric_table --write   # rewrites the table in docs/metrics.md

``tests/core/test_metric_table.py`` fails when the committed table differs from this one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.core.catalog import CATALOG
from app.core.metric_spec import MetricSpec

METRICS_DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
START, END = "<!-- metric-catalog:start -->", "<!-- metric-catalog:end -->"


def markdown_table(specs: tuple[MetricSpec, ...] = CATALOG) -> str:
    """One row per metric: name, type, labels, whether the original design fixes it, help."""
    lines = [
        "| metric | type | labels | contract | description |",
        "| --- | --- | --- | --- | --- |",
    ]
    for spec in specs:
        labels = ", ".join(f"`{label}`" for label in spec.labels) or "none"
        contract = "yes" if spec.contract else ""
        lines.append(
            f"| `{spec.full_name}` | {spec.kind} | {labels} | {contract} | {spec.documentation} |"
        )
    return "\n".join(lines) + "\n"


def with_table(document: str, table: str) -> str:
    """``document`` with the text between its two markers replaced by ``table``."""
    head, rest = document.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}{END}{tail}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite {METRICS_DOC.name}")
    args = parser.parse_args()
    if args.write:
        METRICS_DOC.write_text(with_table(METRICS_DOC.read_text(), markdown_table()))
    else:
        sys.stdout.write(markdown_table())


if __name__ == "__main__":
    main()
