"""The data model of the metric catalog (``app/core/catalog.py``): what one metric is.

    >>> MetricSpec("semcache_misses_total", "counter", "Semantic cache misses.").full_name
    'ollama_rag_semcache_misses_total'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

NAMESPACE = "ollama_rag"

Kind = Literal["counter", "gauge", "histogram", "info"]


@dataclass(frozen=True)
class MetricSpec:
    """One metric: its exposed name (without namespace), type, help text and labels."""

    name: str
    kind: Kind
    documentation: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] | None = None
    contract: bool = False  # part of the original design's contract
    # Its buckets carry the trace id of a sampled request (an OpenMetrics exemplar).
    exemplars: bool = False
    # Produced by prometheus_client's standard collectors (process, GC, platform) under the
    # names every Python exporter uses, without the namespace.
    standard: bool = False

    @property
    def full_name(self) -> str:
        """The family name as it appears on ``/metrics``."""
        if self.standard:
            return self.name
        if self.kind == "info":
            return f"{NAMESPACE}_{self.name}_info"
        return f"{NAMESPACE}_{self.name}"

    @property
    def sample_names(self) -> tuple[str, ...]:
        """The sample names a query can use (histograms expose three)."""
        if self.kind == "histogram":
            return tuple(f"{self.full_name}_{s}" for s in ("bucket", "sum", "count"))
        return (self.full_name,)


def markdown_table(specs: tuple[MetricSpec, ...]) -> str:
    """The README's metric table (``python -m app.core.catalog`` prints the catalog's)."""
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
