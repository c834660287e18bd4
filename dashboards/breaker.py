"""Circuit breaker: state, calls, rejections, transitions, failures, last change."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import stat, statetimeline, timeseries

from dashboards.common import (
    DATASOURCE,
    alert_thresholds,
    dashboard,
    finish,
    rate,
    sel,
    targets,
    value_text,
)

UID = "ollama-rag-breaker"
DESCRIPTION = "The circuit breaker in front of Ollama."
TITLE = "Circuit breaker"
CALLS = "ollama_rag_circuit_breaker_calls_total"
TRANSITIONS = "ollama_rag_circuit_breaker_transitions_total"
ATTEMPTED = 'status=~"success|failure"'
SUCCESS = 'status="success"'
FAILURE = 'status="failure"'
REJECTED = 'status="rejected"'
STATES = {0: ("closed", "green"), 1: ("open", "red"), 2: ("half-open", "orange")}


def _state_changes() -> db.AnnotationQuery:
    # The state's change time moves once per transition. A window of one step misses a
    # change that falls between the last sample of one window and the first of the next;
    # $__rate_interval (a step plus a scrape, at least) overlaps its neighbours, so every
    # change is seen, and Grafana draws the steps that see one as one region.
    return (db.AnnotationQuery().name("Breaker state changes").datasource(DATASOURCE)
            .enable(True).icon_color("orange")
            .expr(f"changes({sel('ollama_rag_circuit_breaker_last_state_change_timestamp')}"
                  f"[$__rate_interval]) > 0"))


def build() -> db.Dashboard:
    attempts = f'sum by (instance, breaker_name) ({rate(CALLS, ATTEMPTED)})'
    return dashboard(UID, TITLE, DESCRIPTION).annotation(_state_changes()).with_panel(
        finish(statetimeline.Panel(), 1, "Breaker state",
               "State of each breaker over time: closed, open (calls rejected without "
               "touching Ollama) or half-open (probing).", "none",
               targets((f"max by (instance, breaker_name) "
                        f"({sel('ollama_rag_circuit_breaker_state')})",
                        "{{instance}} {{breaker_name}}")), width=24, height=6)
        .mappings(value_text(STATES))
    ).with_panel(
        finish(timeseries.Panel(), 2, "Calls by status",
               "Calls through the breaker per second: success, failure (error, timeout, "
               "5xx or malformed answer) and rejected.", "ops",
               targets((f"sum by (status) ({rate(CALLS)})", "{{status}}")))
    ).with_panel(
        finish(timeseries.Panel(), 3, "Rejections",
               "Calls rejected per second by the breaker, each answered 503 with Retry-After "
               "(unless the answer was cached).", "ops",
               targets((f'sum by (instance) ({rate(CALLS, REJECTED)})',
                        "{{instance}} rejected/s")))
    ).with_panel(
        finish(stat.Panel(), 4, "Transitions in the time range",
               "State changes over the whole selected time range, each counted once; "
               "closed to open three times in 15 minutes is CircuitBreakerFlapping.", "short",
               targets((f"round(sum by (from_state, to_state) "
                        f"(increase({sel(TRANSITIONS)}[$__range])))",
                        "{{from_state}} -> {{to_state}}")))
    ).with_panel(
        finish(timeseries.Panel(), 5, "Consecutive failures",
               "Failures in a row counted by the breaker; it opens at the failure threshold.",
               "short",
               targets((f"max by (instance, breaker_name) "
                        f"({sel('ollama_rag_circuit_breaker_consecutive_failures')})",
                        "{{instance}}")))
    ).with_panel(
        finish(stat.Panel(), 6, "Time since last state change",
               "Seconds since each breaker last changed state.", "s",
               targets((f"time() - max by (instance, breaker_name) "
                        f"({sel('ollama_rag_circuit_breaker_last_state_change_timestamp')})",
                        "{{instance}}")), width=6)
    ).with_panel(
        alert_thresholds(finish(timeseries.Panel(), 7, "Success and failure ratio",
               "Share of the calls that reached Ollama that succeeded or failed (rejected "
               "calls left out). HighFailureRate fires over 10% failures.", "percentunit",
               targets(
                   (f'sum by (instance, breaker_name) ({rate(CALLS, SUCCESS)}) '
                    f"/ {attempts}", "{{instance}} success"),
                   (f'sum by (instance, breaker_name) ({rate(CALLS, FAILURE)}) '
                    f"/ {attempts}", "{{instance}} failure"),
               ), width=18), (None, "green"), (0.1, "red"))
    )
