"""Admission and shutdown: what admission control lets through to Ollama and what it sheds,
and the callers that hang up before their answer."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import timeseries

from dashboards.common import alert_thresholds, dashboard, finish, rate, sel, targets

UID = "ollama-rag-admission"
DESCRIPTION = "Admission control of the calls to Ollama, overload shedding, cancelled calls."
TITLE = "Admission and shutdown"
SHED_RATIO = "instance:ollama_rag_admission_shed:ratio_rate5m"  # what OllamaRagShedding reads
WAIT = "ollama_rag_admission_queue_wait_seconds_bucket"
REFUSED = 'status=~"503|499"'
# Users' requests: not /readyz, whose 503 while draining is meant for the load balancer.
API_ROUTES = 'route=~"/api/.*|/v1/.*"'


def build() -> db.Dashboard:
    return dashboard(UID, TITLE, DESCRIPTION).with_panel(
        alert_thresholds(
            finish(timeseries.Panel(), 1, "Share of requests shed",
                   "Share of the requests that need Ollama (question misses, ingestion) "
                   "turned away by admission control, 503 overloaded, over 5 minutes: the "
                   "value OllamaRagShedding reads (it fires over 5% for 10 minutes).",
                   "percentunit",
                   targets((f"max by (instance) ({sel(SHED_RATIO)})", "{{instance}}"))),
            (None, "green"), (0.05, "red"))
    ).with_panel(
        finish(timeseries.Panel(), 2, "Concurrency limit, in flight and queued",
               "Per lane (chat, embed): the calls admission control lets run at once, "
               "adapted to Ollama's latency; the calls under way; and those waiting in "
               "its queue. In flight at the limit with a queue: Ollama is the bottleneck.",
               "short",
               targets((f"max by (instance, lane) "
                        f"({sel('ollama_rag_admission_concurrency_limit')})",
                        "{{instance}} {{lane}} limit"),
                       (f"max by (instance, lane) ({sel('ollama_rag_admission_in_flight')})",
                        "{{instance}} {{lane}} in flight"),
                       (f"max by (instance, lane) ({sel('ollama_rag_admission_queued')})",
                        "{{instance}} {{lane}} queued")))
    ).with_panel(
        finish(timeseries.Panel(), 3, "Shed by lane and reason",
               "Requests turned away per second: queue_full (at the limit, no turn "
               "expected within the queue's wait: answered at once) or queue_timeout "
               "(queued, and no call came free in time).", "reqps",
               targets((f"sum by (lane, reason) ({rate('ollama_rag_admission_shed_total')})",
                        "{{lane}} {{reason}}")))
    ).with_panel(
        finish(timeseries.Panel(), 4, "Queue wait",
               "p99 of the time calls waited for admission, per lane (0 for those admitted "
               "at once), and p50.", "s",
               targets(*[(f"histogram_quantile({q}, sum by (lane, le) ({rate(WAIT)}))",
                          f"{{{{lane}}}} p{p}") for q, p in ((0.99, 99), (0.5, 50))]))
    ).with_panel(
        finish(timeseries.Panel(), 5, "Calls cancelled by callers who hung up",
               "Calls to Ollama per second closed because their caller disconnected or "
               "closed its stream before the answer, by operation: Ollama stops working "
               "for nobody.", "ops",
               targets((f"sum by (operation) "
                        f"({rate('ollama_rag_upstream_requests_cancelled_total')})",
                        "{{operation}}")))
    ).with_panel(
        finish(timeseries.Panel(), 6, "Overloaded, shutting down and hung-up answers",
               "/api answers per second with status 503 (overloaded, shutting down while "
               "draining, or the breaker open: the overview splits them by error) and 499 "
               "(the caller hung up before its answer).", "reqps",
               targets((f"sum by (route, status) "
                         f"({rate('ollama_rag_http_requests_total', REFUSED, API_ROUTES)})",
                        "{{route}} {{status}}")))
    )
