"""Upstream and LLM: pool, upstream latency, time to first token, tokens, phases, retrieval."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import timeseries

from dashboards.common import dashboard, finish, rate, sel, targets

UID = "ollama-rag-upstream"
DESCRIPTION = "Calls from ollama-rag to Ollama and what Ollama reports."
TITLE = "Upstream and LLM"
UPSTREAM = "ollama_rag_upstream_request_duration_seconds"
PHASE = "ollama_rag_llm_phase_duration_seconds"


def build() -> db.Dashboard:
    return dashboard(UID, TITLE, DESCRIPTION).with_panel(
        finish(timeseries.Panel(), 1, "Pool requests",
               "HTTP requests sent through the upstream connection pool per second.", "reqps",
               targets((f"sum by (instance, client_name) "
                        f"({rate('ollama_rag_connection_pool_requests_total')})",
                        "{{instance}}")))
    ).with_panel(
        finish(timeseries.Panel(), 2, "Pool size against in-flight use",
               "Configured pool limits (maxsize, keepalive) and the upstream requests under "
               "way. UpstreamPoolNearSaturation fires above 80% of maxsize.", "short",
               targets((f"max by (instance, pool_type) "
                        f"({sel('ollama_rag_connection_pool_size')})",
                        "{{instance}} {{pool_type}}"),
                       (f"sum by (instance) ({sel('ollama_rag_upstream_requests_in_flight')})",
                        "{{instance}} in flight")))
    ).with_panel(
        finish(timeseries.Panel(), 3, "Upstream latency by operation and outcome",
               "p95 of Ollama calls by operation (chat, chat_stream, embed, probe) and "
               "outcome. UpstreamLatencyHigh fires over 5s.", "s",
               targets((f"histogram_quantile(0.95, sum by (operation, outcome, le) "
                        f"({rate(UPSTREAM + '_bucket')}))", "{{operation}} {{outcome}}")),
               width=24)
    ).with_panel(
        finish(timeseries.Panel(), 4, "Time to first token",
               "p50 and p95 from sending a streamed chat request to its first token.", "s",
               targets(*[(f"histogram_quantile({q}, sum by (model, le) "
                          f"({rate('ollama_rag_llm_time_to_first_token_seconds_bucket')}))",
                          f"p{p} {{{{model}}}}") for q, p in ((0.5, 50), (0.95, 95))]))
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
    ).with_panel(
        finish(timeseries.Panel(), 8, "Retrieval latency",
               "p95 of the time to find the closest chunks in the document store.", "s",
               targets(("histogram_quantile(0.95, sum by (le) "
                        f"({rate('ollama_rag_retrieval_duration_seconds_bucket')}))", "p95")),
               width=6)
    ).with_panel(
        finish(timeseries.Panel(), 9, "Document chunks",
               "Chunks held in each instance's document store.", "short",
               targets((f"sum by (instance) ({sel('ollama_rag_document_chunks')})",
                        "{{instance}}")), width=6)
    )
