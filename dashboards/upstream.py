"""Upstream and LLM: pool, upstream latency, time to first token, tokens, phases, retrieval."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import stat, timeseries

from dashboards.common import alert_thresholds, dashboard, finish, rate, sel, targets, value_text

UID = "ollama-rag-upstream"
DESCRIPTION = "Calls from ollama-rag to Ollama and what Ollama reports."
TITLE = "Upstream and LLM"
UPSTREAM = "ollama_rag_upstream_request_duration_seconds"
PHASE = "ollama_rag_llm_phase_duration_seconds"
# The recorded series the alerts read: each alert's panel shows exactly its value.
UPSTREAM_P95 = "instance_operation:ollama_rag_upstream_request_duration_seconds:p95_rate5m"
TTFT_P95 = "instance_model:ollama_rag_llm_time_to_first_token_seconds:p95_rate5m"
MAXSIZE = 'pool_type="maxsize"'
POOL_USE = "instance_client:ollama_rag_upstream_pool_utilisation:avg5m"
TOKENS_PER_SECOND = "instance_model:ollama_rag_llm_generation_tokens_per_second:rate5m"


def build() -> db.Dashboard:
    return _store_rows(_ollama_rows(_pool_and_latency(dashboard(UID, TITLE, DESCRIPTION))))


def _pool_and_latency(board: db.Dashboard) -> db.Dashboard:
    """The panels the upstream alerts link to, each showing the value its alert reads."""
    return board.with_panel(
        finish(timeseries.Panel(), 1, "Pool requests",
               "HTTP requests sent through the upstream connection pool per second.", "reqps",
               targets((f"sum by (instance, client_name) "
                        f"({rate('ollama_rag_connection_pool_requests_total')})",
                        "{{instance}}")))
    ).with_panel(
        alert_thresholds(
            finish(timeseries.Panel(), 2, "Pool in use",
                   "Share of the connection pool (maxsize) in use: now, and averaged over 5 "
                   "minutes as UpstreamPoolNearSaturation reads it (it fires above 80%). A "
                   "request that waits longer than the pool timeout for a connection is "
                   "answered 503 overloaded.", "percentunit",
                   targets((f"sum by (instance) ({sel('ollama_rag_upstream_requests_in_flight')})"
                            f" / on (instance) max by (instance) "
                            f"({sel('ollama_rag_connection_pool_size', MAXSIZE)})",
                            "{{instance}} now"),
                           (f"max by (instance) ({sel(POOL_USE)})", "{{instance}} 5m average"))),
            (None, "green"), (0.8, "red"))
    ).with_panel(
        alert_thresholds(
            finish(timeseries.Panel(), 3, "Upstream latency of calls that generate nothing",
                   "p95 of successful embedding, probe and health-check calls to Ollama: "
                   "the value UpstreamLatencyHigh reads (it fires over 5s). Chat calls are on "
                   "the time-to-first-token panel; failures on the outcome panel.", "s",
                   targets((f"max by (instance, operation) ({sel(UPSTREAM_P95)})",
                            "{{instance}} {{operation}}"))),
            (None, "green"), (5, "red"))
    ).with_panel(
        alert_thresholds(
            finish(timeseries.Panel(), 4, "Time to first token",
                   "p95 of the time from a chat request to its first token (for whole "
                   "answers, the call less Ollama's generation time): the value "
                   "LlmTimeToFirstTokenHigh reads (it fires over 5s); and the p50.", "s",
                   targets((f"max by (instance, model) ({sel(TTFT_P95)})",
                            "p95 {{instance}} {{model}}"),
                           (f"histogram_quantile(0.5, sum by (model, le) "
                            f"({rate('ollama_rag_llm_time_to_first_token_seconds_bucket')}))",
                            "p50 {{model}}"))),
            (None, "green"), (5, "red"))
    )


def _ollama_rows(board: db.Dashboard) -> db.Dashboard:
    return board.with_panel(
        finish(stat.Panel(), 10, "Ollama health check",
               "Whether each instance's last health check of Ollama (GET /api/version every "
               "15s, outside the breaker) succeeded. OllamaUnreachable fires after 2 "
               "minutes down.", "none",
               targets((f"max by (instance) ({sel('ollama_rag_upstream_up')})",
                        "{{instance}}")), width=6)
        .mappings(value_text({0: ("unreachable", "red"), 1: ("up", "green")}))
    ).with_panel(
        finish(timeseries.Panel(), 11, "Generation speed",
               "Completion tokens per second of generation, as Ollama reports them: a drop "
               "at steady traffic means a slower machine (a CPU fallback, throttling).",
               "short",
               targets((f"max by (instance, model) ({sel(TOKENS_PER_SECOND)})",
                        "{{instance}} {{model}}")), width=18)
    ).with_panel(
        finish(timeseries.Panel(), 12, "Upstream latency by operation and outcome",
               "p95 of every Ollama call by operation (chat, chat_stream, embed, probe, "
               "health_check) and outcome, timeouts included.", "s",
               targets((f"histogram_quantile(0.95, sum by (operation, outcome, le) "
                        f"({rate(UPSTREAM + '_bucket')}))", "{{operation}} {{outcome}}")),
               width=24)
    ).with_panel(
        finish(timeseries.Panel(), 5, "Tokens per second by type",
               "Prompt and completion tokens processed by Ollama per second, by model.",
               "short",
               targets((f"sum by (model, type) ({rate('ollama_rag_llm_tokens_total')})",
                        "{{model}} {{type}}")))
    ).with_panel(
        finish(timeseries.Panel(), 6, "Phase durations",
               "Average time Ollama reports per call for loading the model, reading the "
               "prompt and generating the answer.", "s",
               targets((f"sum by (model, phase) ({rate(PHASE + '_sum')}) "
                        f"/ sum by (model, phase) ({rate(PHASE + '_count')})",
                        "{{model}} {{phase}}")))
    ).with_panel(
        finish(timeseries.Panel(), 7, "Upstream calls by outcome",
               "Calls to Ollama per second by operation and outcome.", "ops",
               targets((f"sum by (operation, outcome) ({rate(UPSTREAM + '_count')})",
                        "{{operation}} {{outcome}}")))
    )


def _store_rows(board: db.Dashboard) -> db.Dashboard:
    return board.with_panel(
        finish(timeseries.Panel(), 8, "Retrieval latency",
               "p95 of the time to find the closest chunks in the document store.", "s",
               targets(("histogram_quantile(0.95, sum by (le) "
                        f"({rate('ollama_rag_retrieval_duration_seconds_bucket')}))", "p95")),
               width=6)
    ).with_panel(
        finish(timeseries.Panel(), 9, "Document chunks",
               "Chunks held in the document store, as each instance sees it (with a shared "
               "Chroma server, every replica shows the same collection).", "short",
               targets((f"sum by (instance) ({sel('ollama_rag_document_chunks')})",
                        "{{instance}}")), width=6)
    ).with_panel(
        finish(timeseries.Panel(), 13, "Document store call latency",
               "p99 of each kind of call to the document store (search, ingestion, checks), "
               "by engine: SQLite on local disk or the shared Chroma server.", "s",
               targets(("histogram_quantile(0.99, sum by (engine, operation, le) "
                        f"({rate('ollama_rag_store_operation_duration_seconds_bucket')}))",
                        "p99 {{engine}} {{operation}}")))
    ).with_panel(
        finish(timeseries.Panel(), 14, "Document store errors",
               "Failed calls to the document store per second (down, unreachable, timed "
               "out, disk errors), by engine and operation: each is a 503 store_unavailable.",
               "ops", targets((f"sum by (engine, operation) "
                               f"({rate('ollama_rag_store_errors_total')})",
                               "{{engine}} {{operation}}")))
    )
