"""Service overview: RED by route, requests in progress, SLO burn, alerts, targets."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import stat, table, timeseries
from grafana_foundation_sdk.models import prometheus as pm

from dashboards.common import dashboard, finish, rate, sel, targets, thresholds, value_text

UID = "ollama-rag-overview"
DESCRIPTION = "RED metrics by route, SLO burn and alerts of ollama-rag."
TITLE = "ollama-rag overview"
REQUESTS = "ollama_rag_http_requests_total"
DURATION = "ollama_rag_http_request_duration_seconds_bucket"
SERVER_ERROR = 'status=~"5.."'
WINDOWS = ("5m", "30m", "1h", "6h", "1d", "3d")


def _burn_panel(panel_id: int, title: str, description: str, record: str,
                budget: float) -> timeseries.Panel:
    """The SLI over each window divided by the error budget: the burn rate."""
    burns = [(f"{sel(f'job:{record}:ratio_rate{w}', per_instance=False)} / {budget}", w)
             for w in WINDOWS]
    return finish(timeseries.Panel(), panel_id, title, description, "x",
                  targets(*burns)).thresholds(
        thresholds((None, "green"), (1, "yellow"), (6, "orange"), (14.4, "red")))


def build() -> db.Dashboard:
    latency = [
        (f"histogram_quantile({q}, sum by (route, le) ({rate(DURATION)}))", f"p{p} {{{{route}}}}")
        for q, p in ((0.5, 50), (0.95, 95), (0.99, 99))
    ]
    return dashboard(UID, TITLE, DESCRIPTION).with_panel(
        finish(timeseries.Panel(), 1, "Request rate by route",
               "HTTP requests per second by route template (unmatched paths count as one).",
               "reqps", targets((f"sum by (route) ({rate(REQUESTS)})", "{{route}}")))
    ).with_panel(
        finish(timeseries.Panel(), 2, "Error ratio by route",
               "Share of requests answered 5xx, by route: 502/504 when Ollama fails or times "
               "out, 503 while the circuit breaker rejects calls.",
               "percentunit",
               targets((f'sum by (route) ({rate(REQUESTS, SERVER_ERROR)}) '
                        f"/ sum by (route) ({rate(REQUESTS)})", "{{route}}")))
    ).with_panel(
        finish(timeseries.Panel(), 3, "Latency percentiles by route",
               "p50, p95 and p99 of the HTTP request duration by route, until the last byte "
               "(streamed answers included).", "s", targets(*latency), width=24)
    ).with_panel(
        finish(timeseries.Panel(), 4, "Requests in progress",
               "HTTP requests being served, by route; streamed answers stay in progress "
               "until their last chunk.", "short",
               targets((f"sum by (route) ({sel('ollama_rag_http_requests_in_progress')})",
                        "{{route}}")))
    ).with_panel(
        _burn_panel(5, "Availability error budget burn",
                    "Error ratio of /api requests over each window divided by the budget of "
                    "the 99.5% SLO: 1 spends the budget in exactly 30 days. Pages at 14.4 (1h "
                    "and 5m) and 6 (6h and 30m), tickets at 3 (1d and 2h) and 1 (3d and 6h).",
                    "ollama_rag_http_request_errors", 0.005)
    ).with_panel(
        _burn_panel(6, "Latency error budget burn",
                    "Share of /api/query requests slower than 5s over each window divided by "
                    "the budget of the 99% latency SLO; same burn thresholds as availability.",
                    "ollama_rag_http_request_slow", 0.01)
    ).with_panel(
        finish(table.Panel(), 7, "Firing alerts",
               "Alerts firing now for the selected jobs and instances; Watchdog always fires "
               "(it proves the alerting pipeline works).", "short",
               [targets((
                   'sum by (alertname, severity, instance) '
                   '(ALERTS{alertstate="firing",job=~"$job|",instance=~"$instance|"})', ""))[0]
                .format(pm.PromQueryFormat.TABLE).instant()])
    ).with_panel(
        finish(stat.Panel(), 8, "Targets up",
               "Whether Prometheus can scrape each instance (1 up, 0 down).", "none",
               targets((sel("up"), "{{instance}}")), width=6)
        .mappings(value_text({0: ("down", "red"), 1: ("up", "green")}))
    ).with_panel(
        finish(table.Panel(), 9, "Versions",
               "The version each instance runs (ollama_rag_build_info).", "none",
               [targets((sel("ollama_rag_build_info"), ""))[0]
                .format(pm.PromQueryFormat.TABLE).instant()], width=6)
    )
