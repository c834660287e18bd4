"""A small built-in corpus, so that a new user's first question has something to retrieve."""

from __future__ import annotations

BUILTIN_DOCUMENTS: dict[str, str] = {
    "builtin/circuit-breaker.md": (
        "A circuit breaker protects a service from an upstream that is failing. While it is "
        "closed, calls pass through and consecutive failures are counted. After a number of "
        "consecutive failures it opens: calls are rejected at once, without touching the "
        "upstream, and the caller gets a 503 with a Retry-After header. When the reset "
        "timeout has passed, the breaker goes half-open and lets a small number of probe "
        "calls through. If enough probes succeed it closes again; if a probe fails it opens "
        "again and the reset timeout starts over."
    ),
    "builtin/semantic-cache.md": (
        "A semantic cache answers a question from an earlier answer when the question is "
        "the same or close in meaning. An exact hit matches the normalised text. A semantic "
        "hit compares the question's embedding with the embeddings of cached questions by "
        "cosine similarity and accepts the best one at or above a threshold. A lower "
        "threshold gives more hits and more wrong answers. The cache is bounded: the least "
        "recently used entry is evicted when it is full, and entries expire after a time to "
        "live."
    ),
    "builtin/ollama.md": (
        "Ollama serves large language models over HTTP on port 11434. The chat endpoint "
        "/api/chat takes a model and a list of messages and can stream its answer as lines "
        "of JSON. The embed endpoint /api/embed turns text into vectors. Ollama reports "
        "token counts as prompt_eval_count and eval_count, and durations in nanoseconds: "
        "load_duration for loading the model, prompt_eval_duration for reading the prompt "
        "and eval_duration for generating the answer. A cold model load can take tens of "
        "seconds."
    ),
    "builtin/observability.md": (
        "Prometheus scrapes the service's /metrics endpoint and evaluates alert rules. "
        "Alertmanager groups, inhibits and routes the alerts that fire: critical alerts "
        "page, warnings open tickets. Service level objectives are watched with "
        "multi-window, multi-burn-rate alerts: a fast burn of the error budget pages, a "
        "slow burn opens a ticket. Grafana dashboards show request rate, errors and "
        "latency for each route, the state of the circuit breaker and the hit ratio of the "
        "semantic cache."
    ),
    "builtin/rag.md": (
        "Retrieval-augmented generation answers a question in three steps: embed the "
        "question, retrieve the chunks of the document store whose embeddings are closest, "
        "and ask the language model to answer using those chunks as context. Documents are "
        "split into overlapping chunks before they are embedded, so that each chunk is "
        "small enough to fit in the prompt."
    ),
}
