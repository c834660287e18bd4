"""A scenario's metric moves and holds read from the service's own ``/metrics``, for a run
without a Prometheus that scrapes every half second (``python -m loadtest run``
against any service): the same ``MetricMove``/``MetricHold`` the verifiers ask Prometheus.

Each page is kept under the process that served it (its ``process_start_time_seconds``), so
that a service behind a load balancer, whose pages come from one replica or another, is never
read as a counter going up when the page only came from a busier replica.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import defaultdict

import httpx
from prometheus_client.parser import text_string_to_metric_families

from app.core.catalog import Catalog
from loadtest.scenarios.model import TARGET_LABELS, MetricHold, MetricMove, Scenario

POLL_SECONDS = 0.5
Series = tuple[str, frozenset[tuple[str, str]]]  # sample name, labels
Page = dict[Series, float]


def _wanted(scenario: Scenario) -> set[str]:
    names = {m.sample for m in scenario.moves} | {h.sample for h in scenario.holds}
    if any(c.p99_below_ms is not None for c in scenario.client_checks):
        names.add(f"{Catalog.query_duration.full_name}_bucket")
    names |= {c.waited[0] for c in scenario.client_checks if c.waited is not None}
    return names


def parse_page(text: str, names: set[str]) -> tuple[float, Page]:
    """The process's start time and the samples named ``names`` of one ``/metrics`` page."""
    page: Page = {}
    started = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "process_start_time_seconds":
                started = sample.value
            if sample.name in names:
                page[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return started, page


def _matching(page: Page, sample: str, labels: tuple[tuple[str, str], ...]) -> list[float]:
    wanted = {(k, v) for k, v in labels if k not in TARGET_LABELS}
    return [value for (name, have), value in page.items() if name == sample and wanted <= have]


def move_seen(pages: list[tuple[float, Page]], move: MetricMove) -> bool | None:
    """Whether ``move`` happened across one process's pages (in time order, the first one
    taken before its window); None for a condition only Prometheus can tell."""
    if move.kind == "query":
        return None
    per_series: dict[Series, list[float]] = defaultdict(list)
    for _, page in pages:
        for series, value in page.items():
            if series[0] == move.sample and {(k, v) for k, v in move.labels
                                             if k not in TARGET_LABELS} <= series[1]:
                per_series[series].append(value)
    values = [v for series in per_series.values() for v in series]
    if move.kind == "increases":
        totals = [sum(_matching(page, move.sample, move.labels)) for _, page in pages]
        return any(later > totals[0] for later in totals[1:])
    if move.kind == "rises":
        return any(b > min(vs[:i + 1]) for vs in per_series.values()
                   for i, b in enumerate(vs[1:]))
    if move.kind == "changes":
        return any(a != b for vs in per_series.values() for a, b in itertools.pairwise(vs))
    if move.kind == "above":
        return any(v > move.value for v in values)
    if move.kind == "at_least":
        return any(v >= move.value for v in values)
    return any(v <= move.value for v in values)  # at_most


def hold_kept(pages: list[tuple[float, Page]], hold: MetricHold) -> bool:
    """Whether ``hold`` held across one process's pages."""
    if hold.kind == "stays_zero":
        return all(v == 0 for _, page in pages
                   for v in _matching(page, hold.sample, hold.labels))
    totals = [sum(_matching(page, hold.sample, hold.labels)) for _, page in pages]
    return all(later <= totals[0] for later in totals[1:])


class ServiceSamples:
    """Reads the service's ``/metrics`` every half second while a scenario plays::

        samples = ServiceSamples(service_url, scenario).start()
        samples.stop(); samples.moved(move, since, until)
    """

    def __init__(self, service_url: str, scenario: Scenario) -> None:
        self._url = f"{service_url}/metrics"
        self._names = _wanted(scenario)
        self._pages: list[tuple[float, float, Page]] = []  # (when, process start, page)
        self.errors = 0  # pages that could not be read
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def start(self) -> ServiceSamples:
        self._read()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._read()

    def _poll(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self._read()

    def _read(self) -> None:
        try:
            text = httpx.get(self._url, timeout=5).raise_for_status().text
        except httpx.HTTPError:
            self.errors += 1
            return
        started, page = parse_page(text, self._names)
        with self._lock:
            self._pages.append((time.time(), started, page))

    def _by_process(self, since: float, until: float) -> list[list[tuple[float, Page]]]:
        """Per process, its pages from the last one before ``since`` to ``until``."""
        with self._lock:
            pages = list(self._pages)
        groups: dict[float, list[tuple[float, Page]]] = defaultdict(list)
        for at, started, page in pages:
            if at <= until:
                groups[started].append((at, page))
        windows = []
        for group in groups.values():
            before = [item for item in group if item[0] < since][-1:]
            windows.append(before + [item for item in group if item[0] >= since])
        return [w for w in windows if w]

    def moved(self, move: MetricMove, since: float, until: float) -> bool | None:
        if move.kind == "query":
            return None
        return any(move_seen(pages, move) for pages in self._by_process(since, until))

    def _latest(self, at: float) -> list[Page]:
        """Each process's last page at or before ``at``."""
        with self._lock:
            latest: dict[float, Page] = {}
            for when, started, page in self._pages:
                if when <= at:
                    latest[started] = page
        return list(latest.values())

    def total(self, sample: str, labels: tuple[tuple[str, str], ...], at: float) -> float:
        """A counter's value at ``at``, summed over its series and the processes."""
        return sum(sum(_matching(page, sample, labels)) for page in self._latest(at))

    def buckets(self, sample: str, outcome: str, at: float) -> dict[float, float]:
        """A histogram's cumulative counts by upper bound for ``outcome``, from each
        process's last page at or before ``at``, summed."""
        counts: dict[float, float] = defaultdict(float)
        for page in self._latest(at):
            for (name, labels), value in page.items():
                found = dict(labels)
                if name == sample and found.get("outcome") == outcome:
                    counts[float(found["le"])] += value
        return dict(counts)

    def held(self, hold: MetricHold, since: float, until: float) -> bool:
        return all(hold_kept(pages, hold) for pages in self._by_process(since, until))
