"""Checks on metrics and queries: each metric a scenario must move moved; every dashboard
query returns data; the original design's queries return data in their production form."""

from __future__ import annotations

import json
import math
from typing import Any

from dashboards.paths import JSON_DIR
from loadtest.scenarios.model import Scenario
from loadtest.stack.interface import Stack
from loadtest.verify.service_samples import ServiceSamples

GRAFANA_RATE_INTERVAL = "2s"  # what Grafana picks for a 500ms scrape interval: 4 scrapes
GRAFANA_INTERVAL = "1s"  # the step of the queries below

# The original design's "PromQL Queries" and "Recommended Alerts", verbatim
# (tests/test_verify.py checks that docs/original-design.md says this, whitespace aside), each
# with the production-grade form this project ships instead.
ORIGINAL_DESIGN_QUERIES: tuple[tuple[str, str, str], ...] = (
    ("Request rate",
     "rate(ollama_rag_connection_pool_requests_total[5m])",
     "sum by (instance) (rate(ollama_rag_connection_pool_requests_total[5m]))"),
    ("Success rate",
     '100 * rate(ollama_rag_circuit_breaker_calls_total{status="success"}[5m])\n'
     "/ rate(ollama_rag_circuit_breaker_calls_total[5m])",
     "100 * (1 - instance_breaker:ollama_rag_circuit_breaker_failures:ratio_rate5m)"),
    ("Cache hit rate",
     "rate(ollama_rag_semcache_hits_total[5m])\n"
     "/ (rate(ollama_rag_semcache_hits_total[5m]) + rate(ollama_rag_semcache_misses_total[5m]))",
     "instance:ollama_rag_semcache_hits:ratio_rate5m"),
    ("CircuitBreakerOpen",
     "ollama_rag_circuit_breaker_state == 1",
     "max by (job, instance, breaker_name) (ollama_rag_circuit_breaker_state) > 0"),
    ("HighFailureRate",
     'rate(ollama_rag_circuit_breaker_calls_total{status="failure"}[5m])\n'
     "/ rate(ollama_rag_circuit_breaker_calls_total[5m]) > 0.1",
     "instance_breaker:ollama_rag_circuit_breaker_failures:ratio_rate5m > 0.1"),
    ("LowCacheHitRate",
     "rate(ollama_rag_semcache_hits_total[5m])\n"
     "/ (rate(ollama_rag_semcache_hits_total[5m]) + rate(ollama_rag_semcache_misses_total[5m]))\n"
     "< 0.3",
     "instance:ollama_rag_semcache_hits:ratio_rate5m < 0.3"),
)


def has_data(series: list[dict[str, Any]]) -> bool:
    return any(not math.isnan(float(v)) for s in series for _, v in s["values"])


def phase_window(scenario: Scenario, name: str, phases: dict[str, float],
                 until: float) -> tuple[float, float]:
    """When the scenario's phase ``name`` started and ended (the next phase's start)."""
    names = [phase.name for phase in scenario.phases]
    after = names.index(name) + 1
    return phases[name], (phases[names[after]] if after < len(names)
                          and names[after] in phases else until)


def check_moves(stack: Stack, scenario: Scenario, phases: dict[str, float], since: float,
                until: float, samples: ServiceSamples | None = None) -> dict[str, bool | None]:
    """Per move (its metric and words): whether it moved in its phase, or anywhere from
    ``since`` to ``until``; read from Prometheus, or from ``samples`` of the service's own
    ``/metrics`` where given (None: a condition only Prometheus can tell)."""
    moved: dict[str, bool | None] = {}
    for move in scenario.moves:
        start, end = (phase_window(scenario, move.phase, phases, until)
                      if move.phase else (since, until))
        key = f"{move.metric}: {move.words}"
        if samples is not None:
            moved[key] = samples.moved(move, start, end)
        else:
            moved[key] = has_data(stack.query_range(move.query, start, end, 0.5))
    return moved


def grafana_to_promql(expr: str, range_seconds: float = 3600) -> str:
    """What Grafana sends for the default variable values, over a time range this long."""
    return (expr.replace("$__rate_interval", GRAFANA_RATE_INTERVAL)
            .replace("$__range", f"{max(1, round(range_seconds))}s")
            .replace("$__interval", GRAFANA_INTERVAL)
            .replace('"$job|"', '".+|"').replace('"$instance|"', '".+|"')
            .replace("$job", ".+").replace("$instance", ".+"))


def check_dashboards(stack: Stack, since: float, until: float) -> list[dict[str, Any]]:
    rows = []
    for path in sorted(JSON_DIR.glob("*.json")):
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel["targets"]:
                series = stack.query_range(grafana_to_promql(target["expr"], until - since),
                                           since, until, 1)
                rows.append({"dashboard": board["title"], "panel": panel["title"],
                             "ref": target["refId"], "data": has_data(series)})
    return rows


def _design_defect(verbatim: str, raw: list[dict[str, Any]]) -> str:
    """Why the original design's query, as written, says nothing useful ("" when it does)."""
    if not has_data(raw):
        return ("returns nothing as written: hits carry a `type` label that misses lack, "
                "so the sum matches no series (original design's defect)")
    values = {float(v) for s in raw for _, v in s["values"] if not math.isnan(float(v))}
    if "status=" in verbatim and values <= {1.0, 100.0}:
        return ("always the same value as written: each status series is divided by itself "
                "(original design's defect)")
    return ""


def check_original_design_queries(stack: Stack, since: float,
                                  until: float) -> list[dict[str, Any]]:
    rows = []
    for name, verbatim, production in ORIGINAL_DESIGN_QUERIES:
        raw = stack.query_range(verbatim, since, until, 1)
        shipped = stack.query_range(production, since, until, 1)
        rows.append({"name": name, "verbatim": verbatim, "verbatim_data": has_data(raw),
                     "production": production, "production_data": has_data(shipped),
                     "note": _design_defect(verbatim, raw)})
    return rows
