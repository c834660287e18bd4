"""The share of the scenarios' traffic that comes through the OpenAI-compatible API, as
chat front ends and the ``openai`` client send it, and what it must move in the baseline:
the live proof covers ``/v1`` as it covers ``/api/query``."""

from __future__ import annotations

from loadtest.scenarios.model import MetricMove

M = "ollama_rag_"
# A quarter of the questions go to /v1/chat/completions; front ends stream, so half of
# those are streamed (with include_usage, as the openai client asks for it).
OPENAI_SHARE = 0.25
OPENAI_STREAM_SHARE = 0.5
# Weight of the /v1/embeddings task beside the questions' 60 (users.py).
EMBEDDINGS_WEIGHT = 2
API = (("api", "openai"),)

OPENAI_MOVES = (
    MetricMove(M + "query_duration_seconds_count", labels=API,
               what="questions came through /v1/chat/completions"),
    MetricMove(M + "query_time_to_first_token_seconds_count",
               labels=(*API, ("mode", "streamed")),
               what="streamed completions (server-sent events) started"),
    MetricMove(M + "http_requests_total",
               labels=(("route", "/v1/embeddings"), ("status", "200")),
               what="/v1/embeddings answered"),
)
