"""The key series of each scenario, read from Prometheus for the HTML report, with the
intervals where its expected alerts fired."""

from __future__ import annotations

import math
from typing import Any

from loadtest.stack.interface import Stack
from loadtest.verify.results import AlertResult, ScenarioResult

LATENCY = ("histogram_quantile({q}, sum by (le) (rate(ollama_rag_http_request_duration_seconds_"
           'bucket{{route="/api/query"}}[2s])))')
CHARTS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("Breaker state (0 closed, 1 open, 2 half-open)",
     (("state", "max(ollama_rag_circuit_breaker_state)"),)),
    ("Failure ratio of calls to Ollama",
     (("failures", "max(instance_breaker:ollama_rag_circuit_breaker_failures:ratio_rate5m)"),)),
    ("Cache hit ratio", (("hits", "max(instance:ollama_rag_semcache_hits:ratio_rate5m)"),)),
    ("Admission, chat lane: limit, in flight, queued",
     tuple((label, f'max(ollama_rag_admission_{metric}{{lane="chat"}})')
           for label, metric in (("limit", "concurrency_limit"), ("in flight", "in_flight"),
                                 ("queued", "queued")))),
    ("Requests shed per second",
     (("shed", "sum(rate(ollama_rag_admission_shed_total[2s]))"),)),
    ("/api/query latency (s)",
     tuple((f"p{p}", LATENCY.format(q=q)) for q, p in ((0.5, 50), (0.95, 95), (0.99, 99)))),
)


def _intervals(series: list[dict[str, Any]], gap: float = 1.0) -> list[tuple[float, float]]:
    times = sorted(float(t) for s in series for t, _ in s["values"])
    spans: list[tuple[float, float]] = []
    for t in times:
        if spans and t - spans[-1][1] <= gap:
            spans[-1] = (spans[-1][0], t)
        else:
            spans.append((t, t))
    return spans


def _panels(stack: Stack, start: float, end: float) -> list[dict[str, Any]]:
    panels = []
    for title, queries in CHARTS:
        series = []
        for label, expr in queries:
            data = stack.query_range(expr, start, end, 0.5)
            points = [[float(t), float(v)] for s in data for t, v in s["values"]
                      if not math.isnan(float(v))]
            series.append({"label": label, "points": points})
        panels.append({"title": title, "series": series})
    return panels


def _bands(stack: Stack, alert: AlertResult, start: float,
           end: float) -> list[dict[str, Any]]:
    """The intervals in which the alert was firing."""
    matchers = [f'{k}="{v}"' for k, v in alert.labels.items()] + ['alertstate="firing"']
    data = stack.query_range("ALERTS{" + ",".join(matchers) + "}", start, end, 0.25)
    return [{"alert": alert.alert, "from": a, "to": b} for a, b in _intervals(data)]


def collect_charts(stack: Stack, scenarios: list[ScenarioResult]) -> list[dict[str, Any]]:
    charts = []
    for result in scenarios:
        start, end = result.started - 1, result.ended
        bands = [band for alert in result.alerts if alert.resolve_by != "never"  # Watchdog
                 for band in _bands(stack, alert, start, end)]
        charts.append({"scenario": result.name, "start": start, "end": end,
                       "phases": result.phases, "panels": _panels(stack, start, end),
                       "bands": bands})
    return charts
