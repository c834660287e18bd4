"""Service overview: the answer to "is it healthy?" on top (SLIs, budget left, breaker,
targets, firing alerts), then RED by route, answer start, SLO burn."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import stat, table, timeseries
from grafana_foundation_sdk.models import prometheus as pm

from alerts.slo import AVAILABILITY, LATENCY, PERIOD, Objective, sli_windows
from app.core.labels import OPERATIONAL_ROUTES
from dashboards.common import (
    alert_thresholds,
    dashboard,
    finish,
    info_table,
    rate,
    sel,
    targets,
    thresholds,
    value_text,
)

UID = "ollama-rag-overview"
DESCRIPTION = "Is ollama-rag healthy? SLIs, error budgets, breaker, targets and alerts on top."
TITLE = "ollama-rag overview"
REQUESTS = "ollama_rag_http_requests_total"
DURATION = "ollama_rag_http_request_duration_seconds_bucket"
ANSWER_START = "ollama_rag_query_time_to_first_token_seconds_bucket"
QUERY_DURATION = "ollama_rag_query_duration_seconds_bucket"
QUERY_DURATION_COUNT = "ollama_rag_query_duration_seconds_count"
BROKEN_STREAMS = "ollama_rag_query_stream_failures_total"
SERVER_ERROR = 'status=~"5.."'
# The routes questions come through: the native API and the OpenAI-compatible one.
QUESTION_ROUTES = 'route=~"/api/query|/v1/chat/completions"'
# Traffic by route leaves out what machines poll (a scrape every 15 s, HAProxy's /readyz
# every 2 s), which would swamp a quiet service's figures.
USER_ROUTES = f'route!~"{"|".join(OPERATIONAL_ROUTES)}"'
BREAKER_STATES = {0: ("closed", "green"), 1: ("open", "red"), 2: ("half-open", "orange")}


def _burn_panel(panel_id: int, title: str, description: str, objective: Objective
                ) -> timeseries.Panel:
    """The SLI over each window divided by the error budget: the burn rate."""
    burns = [(f"{sel(objective.record_for(w), per_instance=False)} / {objective.budget}", w)
             for w in sli_windows()]  # every window of every pair, short ones included
    panel = finish(timeseries.Panel(), panel_id, title, description, "x", targets(*burns))
    return alert_thresholds(panel, (None, "green"), (1, "yellow"), (6, "orange"),
                            (14.4, "red"))


def _sli_stat(panel_id: int, title: str, description: str, objective: Objective
              ) -> stat.Panel:
    expr = f"1 - max({sel(objective.record_for(PERIOD), per_instance=False)})"
    return finish(stat.Panel(), panel_id, title, description, "percentunit",
                  targets((expr, "")), width=4, height=4).decimals(2).thresholds(
        thresholds((None, "red"), (objective.objective, "green")))


def _budget_stat(panel_id: int, title: str, objective: Objective) -> stat.Panel:
    expr = f"min({sel(objective.budget_remaining_record, per_instance=False)})"
    return finish(stat.Panel(), panel_id, title,
                  f"Share of the {PERIOD} error budget of the {objective.name} SLO left "
                  "(negative: overspent).", "percentunit", targets((expr, "")),
                  width=4, height=4).thresholds(
        thresholds((None, "red"), (0.25, "orange"), (0.5, "green")))


def _percent(share: float) -> str:
    return f"{share * 100:g}%"


def _health_row(board: db.Dashboard, availability: Objective, latency: Objective
                ) -> db.Dashboard:
    return board.with_panel(
        _sli_stat(10, "Availability (30d)",
                  "Share of /api and /v1 requests served over 30 days (5xx and broken streams are "
                  f"failures); the objective is {_percent(availability.objective)}.",
                  availability)
    ).with_panel(
        _budget_stat(11, "Availability budget left", availability)
    ).with_panel(
        _sli_stat(12, "Answers started within 5s (30d)",
                  "Share of successful answers that started within 5 seconds over 30 days "
                  "(first streamed token; a whole answer less its generation); the "
                  f"objective is {_percent(latency.objective)}.", latency)
    ).with_panel(
        _budget_stat(13, "Latency budget left", latency)
    ).with_panel(
        finish(stat.Panel(), 14, "Breaker state",
               "The worst circuit breaker state across the selected instances.", "none",
               targets((f"max({sel('ollama_rag_circuit_breaker_state')})", "")),
               width=4, height=4)
        .mappings(value_text(BREAKER_STATES))
    ).with_panel(
        finish(stat.Panel(), 8, "Targets up",
               "Whether Prometheus can scrape each instance (1 up, 0 down).", "none",
               targets((sel("up"), "{{instance}}")), width=4, height=4)
        .mappings(value_text({0: ("down", "red"), 1: ("up", "green")}))
    ).with_panel(
        finish(table.Panel(), 7, "Firing alerts",
               "Alerts firing now for the selected jobs and instances, and about the "
               "monitoring itself; Watchdog always fires (it proves the alerting pipeline "
               "works).", "short",
               # The monitoring's own alerts whatever instance is selected: Alertmanager
               # down shows here and in Prometheus only.
               [targets((
                   'sum by (alertname, severity, instance) ('
                   'ALERTS{alertstate="firing",job=~"$job|",instance=~"$instance|"} '
                   'or ALERTS{alertstate="firing",job=~"prometheus|alertmanager"})', ""))[0]
                .format(pm.PromQueryFormat.TABLE).instant()], width=24, height=6)
    ).with_panel(
        finish(stat.Panel(), 17, "Models in Ollama",
               "Whether Ollama has each configured model (GET /api/tags with the health "
               "check, and any call answered 'model not found'); missing: run `ollama pull "
               "<model>` on the Ollama host.", "none",
               targets((f"min by (model) ({sel('ollama_rag_upstream_model_available')})",
                        "{{model}}")), width=12, height=4)
        .mappings(value_text({0: ("missing: ollama pull", "red"), 1: ("pulled", "green")}))
    ).with_panel(
        finish(stat.Panel(), 18, "Document store",
               "Whether the document store answered its last call or check (SQLite on disk, "
               "or the shared Chroma server); down: questions and ingestions get 503.",
               "none", targets((f"min by (engine) ({sel('ollama_rag_store_up')})",
                                "{{engine}}")), width=12, height=4)
        .mappings(value_text({0: ("down", "red"), 1: ("up", "green")}))
    )


def _quantiles(bucket: str, by: str, quantiles: tuple[int, ...], *matchers: str
               ) -> list[tuple[str, str]]:
    """(expr, legend) of each percentile of a histogram, by one label."""
    return [(f"histogram_quantile({p / 100}, sum by ({by}, le) ({rate(bucket, *matchers)}))",
             f"p{p} {{{{{by}}}}}") for p in quantiles]


def build(availability: Objective = AVAILABILITY, latency_slo: Objective = LATENCY
          ) -> db.Dashboard:
    """The overview; the SLOs' objectives set its thresholds and burn rates."""
    latency = _quantiles(DURATION, "route", (50, 95, 99), USER_ROUTES)
    answer_start = _quantiles(ANSWER_START, "mode", (50, 99))
    by_outcome = _quantiles(QUERY_DURATION, "outcome", (50, 99))
    board = _health_row(dashboard(UID, TITLE, DESCRIPTION), availability, latency_slo)
    board = _traffic_rows(board, availability)
    return board.with_panel(
        alert_thresholds(
            finish(timeseries.Panel(), 16, "Answer start (the latency SLI)",
                   "p50 and p99 of the time successful answers (both APIs) took to start, "
                   "by mode: to the first streamed token, or a whole answer less its "
                   "generation. The latency SLO counts those over 5s.", "s",
                   targets(*answer_start)),
            (None, "green"), (5, "red"))
    ).with_panel(
        finish(timeseries.Panel(), 3, "Latency percentiles by route",
               "p50, p95 and p99 of the HTTP request duration by route, until the last byte "
               "(streamed answers last as long as their generation); scrapes and health "
               "checks left out.", "s",
               targets(*latency))
    ).with_panel(
        finish(timeseries.Panel(), 19, "Question latency by outcome",
               "p50 and p99 of questions (/api/query, /v1/chat/completions) until the last "
               "byte, by what the caller got: "
               "an exact or a semantic cache hit (the latter after an embedding call), "
               "answered by the model, shed (503 overloaded), refused (4xx) or failed. An "
               "exact hit and a shed answer should take milliseconds even while answers take "
               "seconds.", "s", targets(*by_outcome))
    ).with_panel(
        finish(timeseries.Panel(), 4, "Requests in progress",
               "HTTP requests being served, by route; streamed answers stay in progress "
               "until their last chunk.", "short",
               targets((f"sum by (route) "
                        f"({sel('ollama_rag_http_requests_in_progress', USER_ROUTES)})",
                        "{{route}}")))
    ).with_panel(
        finish(timeseries.Panel(), 20, "Questions by API",
               "Questions per second by the API they came through (native: /api/query; "
               "openai: /v1/chat/completions) and what their callers got; both count in "
               "the SLOs.", "reqps",
               targets((f"sum by (api, outcome) ({rate(QUERY_DURATION_COUNT)}) > 0",
                        "{{api}} {{outcome}}")))
    ).with_panel(
        _burn_panel(5, "Availability error budget burn",
                    "Failed /api and /v1 requests over each window divided by the budget of the "
                    f"{_percent(availability.objective)} SLO: 1 spends the budget in exactly 30 "
                    "days. Pages at 14.4 (1h and 5m) and 6 (6h and 30m), tickets at 3 (1d and "
                    "2h) and 1 (3d and 6h).", availability)
    ).with_panel(
        _burn_panel(6, "Latency error budget burn",
                    "Share of successful answers that started after 5s over each window "
                    f"divided by the budget of the {_percent(latency_slo.objective)} latency "
                    "SLO; same burn thresholds as availability.", latency_slo)
    ).with_panel(
        info_table(9, "Versions", "The version each instance runs (ollama_rag_build_info).",
                   "ollama_rag_build_info")
    )


def _traffic_rows(board: db.Dashboard, availability: Objective) -> db.Dashboard:
    return board.with_panel(
        finish(timeseries.Panel(), 1, "Request rate by route",
               "HTTP requests per second by route template (unmatched paths count as one); "
               "Prometheus's scrapes and the load balancer's health checks left out.",
               "reqps", targets((f"sum by (route) ({rate(REQUESTS, USER_ROUTES)})",
                                 "{{route}}")))
    ).with_panel(
        alert_thresholds(
            finish(timeseries.Panel(), 2, "Error ratio by route",
                   "Share of requests answered 5xx, by route: 502/504 when Ollama fails or "
                   "times out, 503 while the circuit breaker rejects calls or the pool is "
                   "full; and the share of questions' streams that broke after their 200. "
                   f"The dashed line is the availability SLO's budget ({availability.budget:.1%}"
                   "): above it, the budget burns faster than 30 days allow.",
                   "percentunit",
                   targets((f"sum by (route) ({rate(REQUESTS, SERVER_ERROR, USER_ROUTES)}) "
                            f"/ sum by (route) ({rate(REQUESTS, USER_ROUTES)})", "{{route}}"),
                           (f"sum({rate(BROKEN_STREAMS)}) "
                            f"/ sum({rate(REQUESTS, QUESTION_ROUTES)})",
                            "broken streams"))),
            (None, "green"), (availability.budget, "red"))
    ).with_panel(
        finish(timeseries.Panel(), 15, "Responses by route and status",
               "Responses per second by route and status code (scrapes and health checks "
               "left out), and streams broken after their 200 by upstream outcome: which "
               "error, where.", "reqps",
               targets((f"sum by (route, status) ({rate(REQUESTS, USER_ROUTES)}) > 0",
                        "{{route}} {{status}}"),
                       (f"sum by (outcome) ({rate(BROKEN_STREAMS)}) > 0",
                        "broken stream: {{outcome}}")), width=24)
    )
