"""What one metric is, typed by its kind: the catalog (``app/core/catalog.py``) declares each
metric once as one of these, and ``Metrics`` (``app/telemetry/metrics.py``) creates them.

    >>> CounterSpec("semcache_misses_total", "Semantic cache misses.").full_name
    'ollama_rag_semcache_misses_total'

Read on a class, a spec is the spec; read on an instance of a class that created its
collectors, it is the collector, and a type checker knows which (``metrics.cache_hits`` is
a ``Counter``): the catalog's declaration is the registry's attribute, with no second list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, Self, TypeVar, overload

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

NAMESPACE = "ollama_rag"

Kind = Literal["counter", "gauge", "histogram", "info"]
Collector = TypeVar("Collector", Counter, Gauge, Histogram, Info)


@dataclass(frozen=True)
class MetricSpec(Generic[Collector]):
    """One metric: its exposed name (without namespace), help text and labels."""

    kind: ClassVar[Kind]
    name: str
    documentation: str
    labels: tuple[str, ...] = ()
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

    def create(self, registry: CollectorRegistry) -> Collector:
        """This metric's collector, registered in ``registry``."""
        raise NotImplementedError

    def _options(self, registry: CollectorRegistry) -> dict[str, Any]:
        return {"namespace": NAMESPACE, "labelnames": self.labels, "registry": registry}

    @overload
    def __get__(self, instance: None, owner: type) -> Self: ...

    @overload
    def __get__(self, instance: object, owner: type) -> Collector: ...

    def __get__(self, instance: object | None, owner: type) -> Self | Collector:
        # An instance that created its collectors holds each under the spec's attribute name,
        # which shadows this method; so an instance reaches here only when it did not.
        if instance is None:
            return self
        raise AttributeError(f"{type(instance).__name__} has no collector for {self.name}")


@dataclass(frozen=True)
class CounterSpec(MetricSpec[Counter]):
    kind: ClassVar[Kind] = "counter"

    def create(self, registry: CollectorRegistry) -> Counter:
        return Counter(self.name, self.documentation, **self._options(registry))


@dataclass(frozen=True)
class GaugeSpec(MetricSpec[Gauge]):
    kind: ClassVar[Kind] = "gauge"

    def create(self, registry: CollectorRegistry) -> Gauge:
        return Gauge(self.name, self.documentation, **self._options(registry))


@dataclass(frozen=True)
class HistogramSpec(MetricSpec[Histogram]):
    kind: ClassVar[Kind] = "histogram"
    buckets: tuple[float, ...] = Histogram.DEFAULT_BUCKETS

    def create(self, registry: CollectorRegistry) -> Histogram:
        return Histogram(self.name, self.documentation, buckets=self.buckets,
                         **self._options(registry))


@dataclass(frozen=True)
class InfoSpec(MetricSpec[Info]):
    kind: ClassVar[Kind] = "info"

    def create(self, registry: CollectorRegistry) -> Info:
        # Info takes its label names from the values it is given.
        return Info(self.name, self.documentation, namespace=NAMESPACE, registry=registry)
